"""The --format template engine renders as Go's text/template does, with Docker's functions.

Expected outputs are what `docker inspect -f` / `docker ps --format` print for the same
data (Go semantics: map[k:v] for maps, [a b] for lists, <no value> for absent keys).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from minidocker.cli.formats import Format, default_header
from minidocker.errors import UsageError
from minidocker.gotemplate import (
    FreeMap,
    Template,
    TemplateError,
    go_json,
    go_quote,
    go_sprintf,
    parse,
    render,
)

DATA: dict[str, Any] = {
    "Id": "4f1c2d3e5a6b7c8d9e0f11223344556677889900aabbccddeeff001122334455",
    "Name": "/web",
    "State": {"Status": "running", "Running": True, "Pid": 4242, "ExitCode": 0,
              "Health": None},
    "Config": {
        "Labels": {"foo": "bar", "com.example.tier": "front"},
        "Env": ["PATH=/usr/bin", "TERM=xterm"],
        "Entrypoint": None,
        "Cmd": ["sleep", "infinity"],
    },
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"},
                                     "backend": {"IPAddress": "10.0.0.5"}}},
    "Mounts": [{"Source": "/data", "Destination": "/srv", "RW": True},
               {"Source": "/logs", "Destination": "/var/log", "RW": False}],
    "List": [1, 2, 3],
    "Empty": [],
    "Floats": [1.5, 2.0],
    "Ratio": 0.25,
    "Big": 1e6,
    "N": 2,
}


def r(template: str, data: Any = None, **kw: Any) -> str:
    return render(template, DATA if data is None else data, **kw)


# --------------------------------------------------------------------------- fields


@pytest.mark.parametrize("template, expected", [
    ("{{.Name}}", "/web"),
    ("{{.State.Status}}", "running"),
    ("{{.State.Pid}}", "4242"),
    ("{{.State.Running}}", "true"),
    ("{{.Config.Labels.foo}}", "bar"),
    ('{{index .Config.Labels "com.example.tier"}}', "front"),
    ("{{index .List 0}}", "1"),
    ("{{index .Mounts 1 | printf \"%v\"}}", "map[Destination:/var/log RW:false Source:/logs]"),
    ('{{index .NetworkSettings.Networks "bridge" "IPAddress"}}', "172.17.0.2"),
    ("{{.NetworkSettings.Networks.bridge.IPAddress}}", "172.17.0.2"),
    ("plain text", "plain text"),
    ("", ""),
    ("{{.}}", None),  # checked below: the whole map
])
def test_field_access(template: str, expected: str | None) -> None:
    if expected is None:
        assert r(template, {"b": 1, "a": "x"}) == "map[a:x b:1]"
    else:
        assert r(template) == expected


@pytest.mark.parametrize("template, expected", [
    ("{{.Config.Env}}", "[PATH=/usr/bin TERM=xterm]"),
    ("{{.Config.Labels}}", "map[com.example.tier:front foo:bar]"),
    ("{{.List}}", "[1 2 3]"),
    ("{{.Empty}}", "[]"),
    ("{{.Floats}}", "[1.5 2]"),
    ("{{.Ratio}}", "0.25"),
    ("{{.Big}}", "1e+06"),
    ("{{.Mounts}}", "[map[Destination:/srv RW:true Source:/data] "
                    "map[Destination:/var/log RW:false Source:/logs]]"),
    ("{{.State.Health}}", "<no value>"),  # JSON null
    ("{{.Nope}}", "<no value>"),  # absent key
    ("{{.Config.Labels.nope}}", "<no value>"),
    ("{{.Nope.Deeper}}", "<no value>"),
])
def test_values_print_as_go_prints_them(template: str, expected: str) -> None:
    assert r(template) == expected


def test_nil_inside_collections_prints_as_nil() -> None:
    assert r("{{.L}} {{.M}}", {"L": [None, "a"], "M": {"k": None}}) == "[<nil> a] map[k:<nil>]"


def test_index_of_missing_label_is_empty_like_a_string_map() -> None:
    assert r('[{{index .Config.Labels "nope"}}]') == "[]"
    assert r('[{{index .M "nope"}}]', {"M": {"a": {"k": 1}}}) == "[<no value>]"


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize("template, expected", [
    ('{{"a\\tb"}}', "a\tb"),
    ('{{"\\u00e9\\x41\\101"}}', "éAA"),
    ("{{`raw \\n {{ string`}}", "raw \\n {{ string"),
    ("{{'a'}}", "97"),
    ("{{42}} {{-7}} {{+3}}", "42 -7 3"),
    ("{{0x1F}} {{0o17}} {{0b101}} {{010}} {{1_000}}", "31 15 5 8 1000"),
    ("{{1.5}} {{1e3}} {{1.0}} {{0.000001}} {{.5}}", "1.5 1000 1 1e-06 0.5"),
    ("{{true}} {{false}}", "true false"),
    ("{{print nil}}", "<nil>"),
])
def test_literals(template: str, expected: str) -> None:
    assert r(template) == expected


# --------------------------------------------------------------------------- text and spaces


@pytest.mark.parametrize("template, expected", [
    ("{{23 -}} < {{- 45}}", "23<45"),
    ("a  \n {{- .N -}} \n\t b", "a2b"),
    ("x {{- /* a comment */ -}} y", "xy"),
    ("x {{/* a\nmulti-line comment */}} y", "x  y"),
    ("{{-3}}", "-3"),
    ("{{.N\n}}", "2"),  # actions may span lines
    ("{{ .N }}", "2"),
    ("a\\tb", "a\\tb"),  # no escape processing outside Format (docker inspect)
])
def test_text_and_trimming(template: str, expected: str) -> None:
    assert r(template) == expected


# --------------------------------------------------------------------------- control


@pytest.mark.parametrize("template, expected", [
    ("{{range .List}}{{.}},{{end}}", "1,2,3,"),
    ("{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", "0=1 1=2 2=3 "),
    ("{{range $e := .List}}{{$e}}{{end}}", "123"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "com.example.tier=front;foo=bar;"),
    ("{{range .Config.Labels}}{{.}} {{end}}", "front bar "),
    ("{{range $n, $c := .NetworkSettings.Networks}}{{$n}}:{{$c.IPAddress}} {{end}}",
     "backend:10.0.0.5 bridge:172.17.0.2 "),
    ("{{range .Mounts}}{{.Source}}:{{.Destination}}{{if not .RW}}:ro{{end}} {{end}}",
     "/data:/srv /logs:/var/log:ro "),
    ("{{range .Empty}}x{{else}}none{{end}}", "none"),
    ("{{range .Nope}}x{{else}}none{{end}}", "none"),
    ("{{range $i, $e := .List}}{{if $i}}, {{end}}{{$e}}{{end}}", "1, 2, 3"),
    ("{{range .List}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", "13"),
    ("{{range .List}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}", "1"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ("{{range .List}}{{$.Name}}{{end}}", "/web/web/web"),
    ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
    ("{{if .Empty}}x{{else}}empty{{end}}", "empty"),
    ("{{if eq .N 1}}one{{else if eq .N 2}}two{{else}}many{{end}}", "two"),
    ("{{if eq .N 1}}one{{else if eq .N 3}}three{{else}}many{{end}}", "many"),
    ("{{with .State}}{{.Status}}{{end}}", "running"),
    ("{{with .Nope}}x{{else}}none{{end}}", "none"),
    ("{{with .Nope}}x{{else with .State}}{{.Pid}}{{end}}", "4242"),
    ("{{with $s := .State}}{{$s.Status}}/{{.Pid}}{{end}}", "running/4242"),
    ("{{if and .State.Running .List}}both{{end}}", "both"),
    ("{{if or .Empty .Nope}}x{{else}}neither{{end}}", "neither"),
])
def test_control_structures(template: str, expected: str) -> None:
    assert r(template) == expected


def test_variables_are_scoped_to_their_block() -> None:
    assert r("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}") == "21"
    assert r("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}") == "2"
    assert r("{{$x := .Name}}{{range .List}}{{$x}}{{end}}") == "/web/web/web"
    assert r("{{$}}", {"a": 1}) == "map[a:1]"


def test_define_template_and_block() -> None:
    assert r('{{define "T"}}[{{.}}]{{end}}{{template "T" .Name}}{{template "T" .N}}') == "[/web][2]"
    assert r('{{block "B" .State}}{{.Status}}{{end}}') == "running"


# --------------------------------------------------------------------------- pipelines


@pytest.mark.parametrize("template, expected", [
    ('{{.Name | printf "%s!"}}', "/web!"),
    ('{{"a" | printf "%s-%s" "b"}}', "b-a"),
    ("{{.Config.Labels | len}}", "2"),
    ("{{.List | len | printf \"%03d\"}}", "003"),
    ("{{(index .Mounts 0).Source}}", "/data"),
    ("{{len (index .Config \"Env\")}}", "2"),
    ("{{(.State).Status}}", "running"),
    ("{{$m := index .Mounts 1}}{{$m.Destination}}", "/var/log"),
])
def test_pipelines_and_parentheses(template: str, expected: str) -> None:
    assert r(template) == expected


# --------------------------------------------------------------------------- functions


@pytest.mark.parametrize("template, expected", [
    ("{{json .Name}}", '"/web"'),
    ("{{json .Config.Labels}}", '{"com.example.tier":"front","foo":"bar"}'),
    ("{{json .Config.Entrypoint}}", "null"),
    ("{{json .Empty}}", "[]"),
    ("{{json .Mounts}}", '[{"Destination":"/srv","RW":true,"Source":"/data"},'
                         '{"Destination":"/var/log","RW":false,"Source":"/logs"}]'),
    ("{{json .Nope}}", "null"),
    ('{{join .Config.Env ","}}', "PATH=/usr/bin,TERM=xterm"),
    ('{{join .Config.Cmd " "}}', "sleep infinity"),
    ('{{split "a:b:c" ":"}}', "[a b c]"),
    ('{{split .Name "/"}}', "[ web]"),
    ('{{index (split "k=v" "=") 1}}', "v"),
    ('{{title "hello wORLD-foo_bar"}}', "Hello WORLD-Foo_bar"),
    ('{{upper "abc"}} {{lower "ÀBC"}}', "ABC àbc"),
    ('[{{pad "x" 2 1}}][{{pad "" 2 1}}]', "[  x ][]"),
    ('{{truncate "abcdef" 3}} {{truncate "ab" 3}}', "abc ab"),
    ("{{len .List}} {{len .Name}} {{len \"héllo\"}} {{len .Config.Labels}}", "3 4 6 2"),
    ('{{index "abc" 1}}', "98"),
    ('{{slice "abcdef" 1 3}} {{slice .List 1}} {{slice .List 0 2}}', "bc [2 3] [1 2]"),
    ("{{not true}} {{not .Empty}} {{not .Name}}", "false true false"),
    ("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}}", "0 2 x "),
    ('{{eq .State.Status "running"}} {{eq .N 1 2}} {{ne .N 2}}', "true true false"),
    ("{{eq .Nope \"x\"}}", "false"),
    ('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2.5}}', "true true true false"),
    ('{{print "a" "b" 1 2 true}}', "ab1 2 true"),
    ('{{print 1 2 "a" 3}}', "1 2a3"),
    ("{{print}}", ""),
    ('{{println "a" 1}}', "a 1\n"),
    ('{{html "<a href=\\"x\\">&</a>"}}', "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;"),
    ('{{urlquery "a b&c"}}', "a+b%26c"),
    ('{{js "it\'s <b>"}}', "it\\'s \\u003Cb\\u003E"),
])
def test_functions(template: str, expected: str) -> None:
    assert r(template) == expected


def test_and_or_do_not_evaluate_past_the_deciding_argument() -> None:
    # index out of range would fail if it were evaluated
    assert r("{{and .Empty (index .List 9)}}") == "[]"
    assert r("{{or .List (index .List 9)}}") == "[1 2 3]"


def test_json_is_compact_sorted_and_does_not_escape_html() -> None:
    assert go_json({"b": [1, 2.5, None], "a": "<é>&\n\u2028", "c": True}) == \
        '{"a":"<é>&\\n\\u2028","b":[1,2.5,null],"c":true}'
    assert go_json([1e21, 1e-7, 100.0, -0.5, 123456789.0]) == \
        "[1e+21,1e-7,100,-0.5,123456789]"
    assert go_json("\x01\t\"\\") == '"\\u0001\\t\\"\\\\"'


# --------------------------------------------------------------------------- printf


@pytest.mark.parametrize("fmt, args, expected", [
    ("%s|%v|%d", ["a", [1, "b"], 42], "a|[1 b]|42"),
    ("%-10s|%10s|", ["ab", "cd"], "ab        |        cd|"),
    ("%5.2f|%.3e|%g|%g", [3.14159, 1234.56, 100000.0, 1000000.0],
     " 3.14|1.235e+03|100000|1e+06"),
    ("%05d|%+d|%x|%X|%#x|%o|%b", [-42, 5, 255, 255, 255, 8, 5], "-0042|+5|ff|FF|0xff|10|101"),
    ("%q|%q|%c|%U", ['a"b\n', 65, 0x263A, 0x1F600], '"a\\"b\\n"|\'A\'|☺|U+1F600'),
    ("%t|%5t", [True, False], "true|false"),
    ("%x|% x", ["hi", "hi"], "6869|68 69"),
    ("%6.2f%%", [12.3456], " 12.35%"),
    ("%.2s", ["abcdef"], "ab"),
    ("%*d|%-*d|", [4, 7, 3, 1], "   7|1  |"),
    ("%v %v %v", [None, True, {"k": [1]}], "<nil> true map[k:[1]]"),
    ("%d", ["x"], "%!d(string=x)"),
    ("%s", [42], "%!s(int=42)"),
    ("%f", [1], "%!f(int=1)"),
    ("%d", [1.5], "%!d(float64=1.5)"),
    ("%s", [[1, "a"]], "[%!s(int=1) a]"),
    ("%s %s", ["a"], "a %!s(MISSING)"),
    ("%s", ["a", "b", 3], "a%!(EXTRA string=b, int=3)"),
    ("100%", [], "100%!(NOVERB)"),
    ("%z", [1], "%!z(int=1)"),
])
def test_printf_verbs(fmt: str, args: list[Any], expected: str) -> None:
    assert go_sprintf(fmt, args) == expected


def test_printf_in_template() -> None:
    assert r('{{printf "%-8s|%6d|%v" .State.Status .State.Pid .State.Running}}') == \
        "running |  4242|true"


def test_go_quote() -> None:
    assert go_quote("sleep 1") == '"sleep 1"'
    assert go_quote('a"b\\c\td\x00é…\u00a0') == '"a\\"b\\\\c\\td\\x00é…\\u00a0"'


# --------------------------------------------------------------------------- struct-like data


@dataclass
class Row:
    ID: str
    Count: int
    labels: dict[str, str]

    def Label(self, name: str) -> str:  # noqa: N802 - Go-style method name
        return self.labels.get(name, "")

    @property
    def Names(self) -> str:  # noqa: N802
        return "web"


ROW = Row("abc123", 2, {"tier": "front"})


@pytest.mark.parametrize("template, expected", [
    ("{{.ID}} {{.Count}} {{.Names}}", "abc123 2 web"),
    ('{{.Label "tier"}}', "front"),
    ('{{"tier" | .Label}}', "front"),
    ("{{json .ID}}", '"abc123"'),
])
def test_objects_act_as_go_structs(template: str, expected: str) -> None:
    assert r(template, ROW) == expected


def test_struct_printing_and_json_keep_field_order() -> None:
    assert r("{{.}}", ROW) == "{abc123 2 map[tier:front]}"
    assert r("{{json .}}", ROW) == '{"ID":"abc123","Count":2,"labels":{"tier":"front"}}'


def test_missing_struct_field_is_an_error_even_when_not_strict() -> None:
    with pytest.raises(TemplateError) as e:
        r("{{.Nope}}", ROW)
    assert str(e.value) == ('template parsing error: template: :1:2: executing "" at <.Nope>: '
                            "can't evaluate field Nope in type Row")


# --------------------------------------------------------------------------- errors


def err(template: str, data: Any = None, **kw: Any) -> str:
    with pytest.raises(TemplateError) as e:
        r(template, data, **kw)
    assert isinstance(e.value, UsageError)
    message = str(e.value)
    assert message.startswith("template parsing error: template: ")
    assert "\n" not in message
    return message.removeprefix("template parsing error: ")


def test_strict_fields_reports_missing_keys_as_docker_inspect_does() -> None:
    assert err("{{.Foo}}", strict_fields=True) == \
        'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"'
    assert err("{{.State.Nope.X}}", strict_fields=True) == \
        'template: :1:8: executing "" at <.State.Nope.X>: map has no entry for key "Nope"'
    assert r("{{.State.Status}}", strict_fields=True) == "running"


def test_free_maps_stay_lenient_under_strict_fields() -> None:
    # docker inspect: a typo in a struct field fails, an absent label prints <no value>
    data = {"Config": {"Labels": FreeMap(foo="bar"), "Image": "busybox"}}
    assert r("{{.Config.Labels.foo}} {{.Config.Labels.nope}}", data, strict_fields=True) == \
        "bar <no value>"
    assert r('[{{index .Config.Labels "nope"}}]', {"Config": {"Labels": FreeMap()}}) == "[]"
    assert err("{{.Config.Imag}}", data, strict_fields=True).endswith(
        'map has no entry for key "Imag"')
    assert r("{{json .Config}}", data) == '{"Image":"busybox","Labels":{"foo":"bar"}}'


def test_field_of_null_is_a_nil_pointer_error() -> None:
    assert err("{{.State.Health.Status}}") == ('template: :1:8: executing "" at '
                                               "<.State.Health.Status>: nil pointer evaluating "
                                               "interface {}.Status")


@pytest.mark.parametrize("template, message", [
    ("{{foo .}}", 'template: :1: function "foo" not defined'),
    ("{{.Name", "template: :1: unclosed action"),
    ("{{if .Name}}x", "template: :1: unexpected EOF"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{else}}", "template: :1: unexpected {{else}}"),
    ("{{$x}}", 'template: :1: undefined variable "$x"'),
    ("{{}}", "template: :1: missing value for command"),
    ("{{if}}{{end}}", "template: :1: missing value for if"),
    ("{{.Name | 3}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{range $a, $b, $c := .List}}{{end}}", "template: :1: too many declarations in range"),
    ('{{"abc}}', "template: :1: unterminated quoted string"),
    ("{{`abc}}", "template: :1: unterminated raw quoted string"),
    ("{{3x}}", 'template: :1: bad number syntax: "3x"'),
    ("{{/* x */ }}", "template: :1: comment ends before closing delimiter"),
    ("{{/* x", "template: :1: unclosed comment"),
    ("{{(.Name}}", "template: :1: unclosed left paren"),
    ("{{.Name)}}", "template: :1: unexpected right paren"),
    ('{{"a".Foo}}', 'template: :1: unexpected . after term "\\"a\\""'),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{#}}", 'template: :1: unexpected "#" in command'),
    ("{{.Config.Labels.com-x}}", "template: :1: bad character U+002D '-'"),
    ("line1\n{{.Name}}\n{{nope}}", 'template: :3: function "nope" not defined'),
])
def test_parse_errors(template: str, message: str) -> None:
    assert err(template) == message


@pytest.mark.parametrize("template, message", [
    ("{{join .List}}", 'template: :1:2: executing "" at <join>: '
                       "wrong number of args for join: want 2 got 1"),
    ("{{printf}}", 'template: :1:2: executing "" at <printf>: '
                   "wrong number of args for printf: want at least 1 got 0"),
    ("{{index .List 5}}", 'template: :1:2: executing "" at <index .List 5>: '
                          "error calling index: index out of range: 5"),
    ("{{nil}}", 'template: :1:2: executing "" at <nil>: nil is not a command'),
    ("{{1 2}}", 'template: :1:2: executing "" at <1>: can\'t give argument to non-function 1'),
    ("{{.Name.Foo}}", 'template: :1:7: executing "" at <.Name.Foo>: '
                      "can't evaluate field Foo in type string"),
    ('{{.Name "x"}}', 'template: :1:2: executing "" at <.Name>: '
                      "Name is not a method but has arguments"),
    ('{{eq 1 "a"}}', 'template: :1:2: executing "" at <eq 1 "a">: '
                     "error calling eq: incompatible types for comparison"),
    ("{{lt .List 1}}", 'template: :1:2: executing "" at <lt .List 1>: '
                       "error calling lt: invalid type for comparison"),
    ("{{upper 3}}", 'template: :1:2: executing "" at <upper>: '
                    "wrong type for value; expected string; got int"),
    ("x\n  {{.Name.Foo}}", 'template: :2:9: executing "" at <.Name.Foo>: '
                           "can't evaluate field Foo in type string"),
])
def test_execution_errors(template: str, message: str) -> None:
    assert err(template) == message


def test_range_over_a_scalar_is_an_error() -> None:
    assert err("{{range .Name}}{{end}}").endswith("range can't iterate over /web")


def test_runaway_template_recursion_is_an_error() -> None:
    assert err('{{define "T"}}{{template "T" .}}{{end}}{{template "T" .}}').endswith(
        "exceeded maximum template depth (100)")


# --------------------------------------------------------------------------- compile once


def test_parse_caches_and_templates_are_reusable() -> None:
    t = parse("{{.Name}}")
    assert parse("{{.Name}}") is t
    assert [t.execute({"Name": n}) for n in "abc"] == ["a", "b", "c"]
    assert isinstance(Template("{{.X}}"), Template)


# --------------------------------------------------------------------------- --format


CONTAINERS = [
    {"ID": "4f1c2d3e5a6b", "Image": "busybox", "Names": "web", "Status": "Up 2 minutes"},
    {"ID": "9a8b7c6d5e4f", "Image": "alpine:3.19", "Names": "db-primary", "Status": "Created"},
]
TITLES = {"ID": "CONTAINER ID", "Image": "IMAGE", "Names": "NAMES", "Status": "STATUS"}


def test_table_format_has_header_and_aligned_columns() -> None:
    out = Format("table {{.ID}}\\t{{.Image}}\\t{{.Names}}").render(CONTAINERS, TITLES)
    assert out == (
        "CONTAINER ID   IMAGE         NAMES\n"
        "4f1c2d3e5a6b   busybox       web\n"
        "9a8b7c6d5e4f   alpine:3.19   db-primary\n"
    )


def test_table_columns_are_at_least_ten_wide() -> None:
    out = Format("table {{.Name}}\t{{.Driver}}\t{{.Scope}}").render(
        [{"Name": "bridge", "Driver": "bridge", "Scope": "local"}])
    assert out == "NAME      DRIVER    SCOPE\nbridge    bridge    local\n"


def test_table_header_uses_titles_then_field_names() -> None:
    f = Format("table {{.ID}}: {{json .Names}} {{.CreatedAt}} {{.Label \"x\"}}")
    assert f.header(TITLES) == "CONTAINER ID: NAMES CREATED AT LABEL"
    assert default_header("LocalVolumes") == "LOCAL VOLUMES"
    assert default_header("ID") == "ID"
    assert default_header("IPAddress") == "IP ADDRESS"


def test_table_without_rows_prints_the_header() -> None:
    assert Format("table {{.ID}}\t{{.Names}}").render([], TITLES) == "CONTAINER ID   NAMES\n"


def test_plain_format_prints_one_line_per_row_with_escapes() -> None:
    out = Format("{{.ID}}\\t{{.Names}}").render(CONTAINERS)
    assert out == "4f1c2d3e5a6b\tweb\n9a8b7c6d5e4f\tdb-primary\n"


def test_json_and_bare_table_formats() -> None:
    assert Format("json").render(CONTAINERS[:1]) == (
        '{"ID":"4f1c2d3e5a6b","Image":"busybox","Names":"web","Status":"Up 2 minutes"}\n')
    f = Format("table", default_table="table {{.ID}}\t{{.Status}}")
    assert f.is_table
    assert f.render(CONTAINERS[:1], TITLES) == (
        "CONTAINER ID   STATUS\n4f1c2d3e5a6b   Up 2 minutes\n")


def test_format_errors_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        Format("{{.ID")
    with pytest.raises(UsageError):
        Format("{{.Nope}}").render([ROW])


# --------------------------------------------------------------------------- performance


def test_benchmark_ps_rows() -> None:
    """Not a timed assertion: prints how long 1000 `ps` rows take (budget: well under 20 ms)."""
    rows = [{"ID": f"{i:012x}", "Image": "busybox", "Command": '"sleep 1000"',
             "RunningFor": "2 minutes ago", "Status": "Up 2 minutes", "Ports": "",
             "Names": f"ctr-{i}"} for i in range(1000)]
    f = Format("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
               "{{.Ports}}\t{{.Names}}")
    f.render(rows[:10])
    start = time.perf_counter()
    text = "".join(f.template.execute(row) for row in rows)
    rendered = time.perf_counter() - start
    start = time.perf_counter()
    out = f.render(rows)
    total = time.perf_counter() - start
    assert len(out.splitlines()) == 1001 and text
    print(f"\n1000 rows: templates {rendered * 1000:.1f} ms, with table layout "
          f"{total * 1000:.1f} ms")


def test_enum_values_act_as_their_plain_values() -> None:
    import enum

    class Status(enum.StrEnum):
        RUNNING = "running"

    class Code(enum.IntEnum):
        OK = 0

    data = {"Status": Status.RUNNING, "Code": Code.OK}
    assert r('{{.Status}} {{upper .Status}} {{eq .Status "running"}} {{json .}}', data) == \
        'running RUNNING true {"Code":0,"Status":"running"}'
    assert r('{{printf "%s/%d" .Status .Code}} {{lt .Code 1}}', data) == "running/0 true"


def test_nil_data() -> None:
    assert render("{{.}} {{.Foo}} {{.Foo.Bar}}", None) == "<no value> <no value> <no value>"


def test_printf_zero_padding_applies_to_numbers_only() -> None:
    assert go_sprintf("%05v|%05d|%08.3f|%-6v|%5s", [42, -3, 3.14159, 1.5, "ab"]) == \
        "00042|-0003|0003.142|1.5   |   ab"


@pytest.mark.parametrize("data, expected", [
    ({"M": {"a": 1}}, "0"),
    ({"M": {"a": "x"}}, ""),
    ({"M": {}}, ""),
    ({"M": {"a": True}}, "false"),
    ({"M": {"a": [1]}}, "[]"),
    ({"M": {"a": 1, "b": "x"}}, "<no value>"),
    ({"M": {"a": {"k": 1}}}, "<no value>"),
])
def test_index_of_absent_key_is_the_zero_of_the_element_type(data: Any, expected: str) -> None:
    assert r('{{index .M "nope"}}', data) == expected
