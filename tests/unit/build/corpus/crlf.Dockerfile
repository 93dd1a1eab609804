FROM x
RUN echo crlf \
  more
CMD ["a"]
