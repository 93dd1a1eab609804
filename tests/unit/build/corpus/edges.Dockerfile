#syntax = docker/dockerfile:1.4
ARG BASE=busybox
FROM ${BASE}:latest as Builder
RUN echo "a \\" \
  && echo b  
RUN	tab	separated
ENV X="quoted \"inner\" value" Y='single $X' \
    Z=last
ARG A="x y" B
COPY ["with space", "/dst/"]
COPY -- --weird /x
ADD --chmod=644 --link src* /dst/
RUN --mount=type=bind,from=builder,source=/a,target=/b cat /b
RUN cat <<EOF > /file && cat <<-EOT >> /file
hello
EOF
	world
	EOT
RUN 3<<FD cat <&3
fd three
FD
WORKDIR   /a/b   
EXPOSE 80/tcp   443
HEALTHCHECK --interval=1m30s --timeout=10s CMD wget -q -O- localhost || exit 1
ONBUILD ADD . /app
STOPSIGNAL 9
USER 1000:1000
MAINTAINER someone <x@y>
