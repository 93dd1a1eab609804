# syntax=docker/dockerfile:1
# escape=\
FROM busybox:latest AS base
ENV A=1 B="two words" C=three\ four
ENV LEGACY value with  spaces
LABEL "com.x"="y" z=w
ARG X Y=2 "Z=a b"
RUN --mount=type=cache,target=/c --network=none echo x \
    # a comment in continuation

    && echo y
CMD ["sh", "-c", "echo hi"]
CMD echo not json [
ENTRYPOINT [ "a" ,"b" ]
HEALTHCHECK --interval=5s CMD ["true"]
HEALTHCHECK NONE
ONBUILD RUN echo onbuild
ONBUILD COPY --chown=1:1 a b
EXPOSE 80 443/udp
VOLUME ["/a", "/b"]
VOLUME /c /d
WORKDIR /app
USER nobody
STOPSIGNAL SIGKILL
SHELL ["/bin/sh", "-c"]
COPY --from=base --chmod=755 ["a b", "/c"]
ADD --chown="1 2" x y
RUN <<EOF
echo heredoc
EOF
RUN <<-"EOT" cat
	tabbed $x
	EOT
RUN cat <<A && cat <<'B'
first
A
second
B
COPY <<file1 <<file2 /dest/
one
file1
two
file2
run lowercase
unknown thing here
