"""ADD's remote sources without a network: the name a download gets, git sources told from
files, --checksum's format, and the proxy a URL goes through (Go's net/http rules)."""

from __future__ import annotations

import pytest

from minidocker.build import remote


def test_filename_from_the_url_path_then_content_disposition() -> None:
    assert remote.filename("http://h/a/b/file.tar.gz?x=1#frag") == "file.tar.gz"
    assert remote.filename("http://h/dir/name%20with%20space") == "name with space"
    assert remote.filename("https://h:8443/x") == "x"
    for nameless in ("http://h", "http://h/", "http://h/dir/", "http://h/.."):
        assert remote.filename(nameless) == ""
    assert remote.filename("http://h/dir/", 'attachment; filename="r.csv"') == "r.csv"
    assert remote.filename("http://h/", "attachment; filename=../../etc/passwd") == "passwd"
    assert remote.filename("http://h/", "attachment; filename=dir/") == ""
    assert remote.filename("http://h/path", 'attachment; filename="other"') == "path"


def test_git_sources_and_urls() -> None:
    for git in ("git@github.com:moby/moby.git", "git://h/repo", "ssh://git@h/repo",
                "https://github.com/moby/moby.git", "http://h/repo.git#main"):
        assert remote.is_git(git), git
    for plain in ("https://h/file.tar.gz", "http://h/", "https://h/x.git.tar", "file.git"):
        assert not remote.is_git(plain), plain
    assert remote.is_url("http://h/x") and remote.is_url("https://h/x")
    assert not remote.is_url("ftp://h/x") and not remote.is_url("HTTP://h/x")


def test_checksum_format() -> None:
    assert remote.parse_checksum("sha256:" + "a" * 64) == ("sha256", "a" * 64)
    assert remote.parse_checksum("sha512:" + "0" * 128)[0] == "sha512"
    for bad in ("sha256:" + "A" * 64, "sha256:abc", "md5:" + "a" * 32, "a" * 64,
                "sha256:" + "g" * 64):
        with pytest.raises(remote.RemoteError, match="invalid checksum digest format"):
            remote.parse_checksum(bad)


def test_redacted() -> None:
    assert remote.redacted("https://u:secret@h/x") == "https://u:xxxxx@h/x"
    assert remote.redacted("https://u@h/x") == "https://u@h/x"
    assert remote.redacted("https://h/x") == "https://h/x"


def test_proxy_choice_as_go_makes_it() -> None:
    env = {"HTTP_PROXY": "http://p:3128", "HTTPS_PROXY": "sp:3129"}
    assert remote.proxy_for("http://h/x", {}, env) == "http://p:3128"
    assert remote.proxy_for("https://h/x", {}, env) == "http://sp:3129"
    assert remote.proxy_for("https://h/x", {}, {"HTTP_PROXY": "p"}) == ""  # no fallback
    assert remote.proxy_for("http://h/x", {}, {"http_proxy": "p"}) == "http://p"
    assert remote.proxy_for("http://h/x", {}, {"HTTP_PROXY": "P", "http_proxy": "p"}) \
        == "http://P"
    # the build's proxy args before the environment
    assert remote.proxy_for("http://h/x", {"http_proxy": "http://b"}, env) == "http://b"
    assert remote.proxy_for("http://h/x", {"NO_PROXY": "h"}, env) == ""
    # loopback and localhost go direct
    for local in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x",
                  "http://127.9.9.9/x"):
        assert remote.proxy_for(local, {}, env) == "", local
    # NO_PROXY: *, hosts and their subdomains, .domains, ports, IPs, CIDRs
    cases = {
        "*": {"http://any.where/": ""},
        "example.com": {"http://example.com/": "", "http://a.example.com/": "",
                        "http://notexample.com/": "P"},
        ".example.com": {"http://example.com/": "P", "http://a.example.com/": ""},
        "*.example.com": {"http://a.example.com/": "", "http://example.com/": "P"},
        "example.com:8080": {"http://example.com:8080/": "", "http://example.com/": "P"},
        "h:80": {"http://h/": "", "http://h:81/": "P"},
        "10.1.2.3": {"http://10.1.2.3:99/": "", "http://10.1.2.4/": "P"},
        "10.0.0.0/8, 192.168.1.0/24": {"http://10.200.0.1/": "", "http://192.168.1.7/": "",
                                       "http://192.168.2.1/": "P", "http://ten.com/": "P"},
        "[2001:db8::1]:80": {"http://[2001:db8::1]/": "", "http://[2001:db8::2]/": "P"},
    }
    for no_proxy, urls in cases.items():
        for url, expected in urls.items():
            got = remote.proxy_for(url, {}, {"HTTP_PROXY": "http://P", "NO_PROXY": no_proxy})
            assert got == ("http://P" if expected else ""), (no_proxy, url)
