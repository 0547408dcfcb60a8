package io.oauth2relay.server.secrets;

import io.oauth2relay.secrets.spi.SecretProviderFactory;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Builds a secret-provider jar at test time from a source folder laid out like a Maven project
 * ({@code src/main/java}, {@code src/main/resources}), compiled against the SPI only, the way a team
 * outside this repository builds one.
 */
public final class PluginJars {
  private PluginJars() {}

  /** The repository's {@code examples/custom-secret-provider}. */
  public static Path exampleProject() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("examples/custom-secret-provider"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("examples/custom-secret-provider not found above the working directory");
    }
    return dir.resolve("examples/custom-secret-provider");
  }

  /** Compiles {@code project} and writes its classes and resources into {@code jar}. */
  public static Path build(Path project, Path jar) throws IOException, URISyntaxException {
    Path classes = Files.createTempDirectory("plugin-classes");
    List<String> args = new ArrayList<>(List.of(
        "--release", "17", "-proc:none", "-d", classes.toString(),
        "-classpath", Path.of(SecretProviderFactory.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString()));
    try (Stream<Path> sources = Files.walk(project.resolve("src/main/java"))) {
      sources.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    java.io.ByteArrayOutputStream errors = new java.io.ByteArrayOutputStream();
    if (javac.run(null, errors, errors, args.toArray(String[]::new)) != 0) {
      throw new IllegalStateException("the plug-in does not compile:\n" + errors);
    }
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      add(out, classes);
      Path resources = project.resolve("src/main/resources");
      if (Files.isDirectory(resources)) {
        add(out, resources);
      }
    }
    return jar;
  }

  private static void add(JarOutputStream out, Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.filter(Files::isRegularFile).sorted().toList()) {
        out.putNextEntry(new JarEntry(root.relativize(p).toString().replace('\\', '/')));
        Files.copy(p, out);
        out.closeEntry();
      }
    }
  }
}
