package io.oauth2relay.server.secrets;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import io.oauth2relay.secrets.spi.SecretProviderFactory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * {@code ${file:/path}}: the whole file, one trailing newline ({@code \n} or {@code \r\n}) trimmed, the way
 * Kubernetes mounts a Secret as files. Read on every resolution, so a rotated file is seen at the next
 * login. Built in, and found through the same {@code ServiceLoader} as any other provider.
 */
public final class FileSecretProviderFactory implements SecretProviderFactory {
  @Override
  public String name() {
    return "file";
  }

  @Override
  public SecretProvider create(Map<String, String> config) {
    if (!config.isEmpty()) {
      throw new IllegalArgumentException("secrets.file: takes no settings");
    }
    return FileSecretProviderFactory::read;
  }

  private static Secret read(String reference) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(Path.of(reference));
    } catch (NoSuchFileException e) {
      throw new SecretException("file:" + reference + ": no such file");
    } catch (IOException | RuntimeException e) {
      throw new SecretException("file:" + reference + ": cannot read (" + e.getClass().getSimpleName() + ")");
    }
    int end = bytes.length;
    if (end > 0 && bytes[end - 1] == '\n') {
      end--;
      if (end > 0 && bytes[end - 1] == '\r') {
        end--;
      }
    }
    CharBuffer chars = null;
    try {
      chars =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes, 0, end));
      char[] value = new char[chars.remaining()];
      chars.get(value);
      try {
        return Secret.of(value);
      } finally {
        Arrays.fill(value, '\0');
      }
    } catch (CharacterCodingException e) {
      throw new SecretException("file:" + reference + ": not UTF-8 text");
    } finally {
      Arrays.fill(bytes, (byte) 0);
      if (chars != null && chars.hasArray()) {
        Arrays.fill(chars.array(), '\0');
      }
    }
  }
}
