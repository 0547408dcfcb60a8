package com.example.oauth2relay;

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
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * An example secret provider, {@code keyfile}: {@code ${keyfile:NAME}} is the value of the line
 * {@code NAME=value} in a file named by the {@code file} setting. Stand-in for a team's own vault client:
 * the shape is what matters.
 *
 * <pre>
 *   "secrets": { "keyfile": { "file": "/run/secrets/api.keys" } },
 *   "login": { "password": "${keyfile:api.password}" }
 * </pre>
 *
 * <p>What a provider must do, and how this one does it:
 * <ul>
 *   <li>a public no-arg constructor that does no work; settings arrive in {@link #create(Map)}, and unknown
 *       keys are refused so that typos fail at start-up;</li>
 *   <li>read the source on every {@code resolve}, so a rotated value is used at the next login;</li>
 *   <li>never put a value in an exception message; name the reference instead;</li>
 *   <li>zero every buffer that held a value ({@code byte[]}, {@code char[]}) before returning.</li>
 * </ul>
 * Thread-safety: the provider keeps no state besides its immutable settings, so concurrent calls are safe.
 */
public final class KeyFileSecretProviderFactory implements SecretProviderFactory {

  @Override
  public String name() {
    return "keyfile";
  }

  @Override
  public SecretProvider create(Map<String, String> config) {
    for (String key : config.keySet()) {
      if (!key.equals("file")) {
        throw new IllegalArgumentException("keyfile: unknown setting " + key + " (expected: file)");
      }
    }
    String file = config.get("file");
    if (file == null || file.isBlank()) {
      throw new IllegalArgumentException("keyfile.file: missing (expected the path of a NAME=value file)");
    }
    Path path = Path.of(file);
    return reference -> read(path, reference);
  }

  private static Secret read(Path path, String name) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(path);
    } catch (IOException e) {
      throw new SecretException("keyfile:" + name + ": cannot read " + path + " (" + e.getClass().getSimpleName() + ")");
    }
    char[] chars = null;
    try {
      CharBuffer decoded = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      chars = new char[decoded.remaining()];
      decoded.get(chars);
      Arrays.fill(decoded.array(), '\0');
      return find(chars, name);
    } catch (CharacterCodingException e) {
      throw new SecretException("keyfile:" + name + ": " + path + " is not UTF-8 text");
    } finally {
      Arrays.fill(bytes, (byte) 0);
      if (chars != null) {
        Arrays.fill(chars, '\0');
      }
    }
  }

  /** Finds the line {@code name=value} and returns a copy of the value; never makes a String of it. */
  private static Secret find(char[] text, String name) {
    int line = 0;
    while (line < text.length) {
      int end = line;
      while (end < text.length && text[end] != '\n') {
        end++;
      }
      int valueEnd = end > line && text[end - 1] == '\r' ? end - 1 : end;
      int eq = line + name.length();
      if (eq < valueEnd && text[eq] == '=' && new String(text, line, name.length()).equals(name)) {
        return Secret.of(Arrays.copyOfRange(text, eq + 1, valueEnd));
      }
      line = end + 1;
    }
    throw new SecretException("keyfile:" + name + ": no such name in the file");
  }
}
