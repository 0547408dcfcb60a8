package io.oauth2relay.server.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The relay's own responses: a status and a small JSON body {@code {"error": code, "message": text}}.
 * Messages are written by the relay and never carry request content, tokens or secrets.
 */
final class JsonErrors {
  private JsonErrors() {}

  static FullHttpResponse response(
      ByteBufAllocator alloc, HttpResponseStatus status, String code, String message) {
    StringBuilder json = new StringBuilder(64 + message.length());
    json.append("{\"error\":\"").append(code).append("\",\"message\":\"");
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      if (c == '"' || c == '\\') {
        json.append('\\').append(c);
      } else if (c < 0x20) {
        json.append(' ');
      } else {
        json.append(c);
      }
    }
    json.append("\"}\n");
    ByteBuf body = alloc.buffer(json.length());
    body.writeCharSequence(json, StandardCharsets.UTF_8);
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    return response;
  }
}
