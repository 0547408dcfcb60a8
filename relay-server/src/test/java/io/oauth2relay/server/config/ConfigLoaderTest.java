package io.oauth2relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Specifies how the seed's config format is read: defaults, environment references, and problem messages
 * that name the file and the field but never a configured value.
 */
class ConfigLoaderTest {
  /** The sample config of the seed's configuration guide, unchanged. */
  static final String SEED_SAMPLE =
      """
      {
      "port": 8080,
      "host": "0.0.0.0",
      "debug": true,
      "logfile": "oauth2relay.log",
      "login": {
      "user": "YOUR_USERNAME",
      "password": "YOUR_PASSWORD",
      "authstring": "${YOUR_AUTHSTRING}",
      "refreshtoken": "",
      "method": "GET",
      "data": "",
      "url": "https://saas.example.com/login",
      "headers": {
      "Authorization": "Basic ${AUTHSTRING}"
      },
      "parameters": {
      "AccessToken": "AccessToken",
      "ExpiresIn": "ExpiresIn",
      "ExpiresAt": "ExpiresAt",
      "TokenType": "TokenType",
      "RefreshToken": "RefreshToken"
      }
      },
      "refresh": {
      "token": "",
      "method": "POST",
      "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
      "url": "https://saas.example.com/refresh",
      "headers": {
      "Authorization": "${REFRESHTOKEN}"
      },
      "parameters": {
      "AccessToken": "AccessToken",
      "ExpiresIn": "ExpiresIn",
      "ExpiresAt": "ExpiresAt",
      "TokenType": "TokenType",
      "RefreshToken": "RefreshToken"
      }
      },
      "relay": {
      "url": "https://saas.example.com/",
      "method": "GET",
      "type": "json",
      "fixedtoken": "",
      "data": "",
      "parameters": {
      "country_code": "US"
      },
      "headers": {
      "Authorization": "Bearer ${ACCESSTOKEN}",
      "Content-Type": "application/json"
      }
      }
      }
      """;

  /** A small valid config; tests vary one field of it. */
  static final String MINIMAL =
      """
      {
        "login": { "url": "https://idp.example.com/login" },
        "relay": { "url": "https://api.example.com/" }
      }
      """;

  @TempDir Path dir;

  private Path file(String json) throws IOException {
    Path f = dir.resolve("relay.json");
    Files.writeString(f, json, StandardCharsets.UTF_8);
    return f;
  }

  private RelayConfig load(String json, Map<String, String> env) throws Exception {
    return new ConfigLoader(env::get).load(file(json));
  }

  private ConfigException failure(String json, Map<String, String> env) throws IOException {
    Path f = file(json);
    Function<String, String> lookup = env::get;
    Throwable thrown = catchThrowable(() -> new ConfigLoader(lookup).load(f));
    assertThat(thrown).isInstanceOf(ConfigException.class);
    return (ConfigException) thrown;
  }

  private static String text(Template t) {
    return new String(t.render(TemplateValues.NONE), StandardCharsets.UTF_8);
  }

  @Nested
  class TheSeedSample {
    @Test
    void loadsWhenTheEnvironmentProvidesYourAuthstring() throws Exception {
      RelayConfig config = load(SEED_SAMPLE, Map.of("YOUR_AUTHSTRING", "dXNlcjpwYXNz"));

      assertThat(config.host()).isEqualTo("0.0.0.0");
      assertThat(config.port()).isEqualTo(8080);
      assertThat(config.debug()).isTrue();
      assertThat(config.logfile()).isEqualTo(Path.of("oauth2relay.log"));
      assertThat(config.variables()).containsExactly("YOUR_AUTHSTRING");
    }

    @Test
    void keepsTheLoginCallAndItsCredentials() throws Exception {
      RelayConfig config = load(SEED_SAMPLE, Map.of("YOUR_AUTHSTRING", "dXNlcjpwYXNz"));

      LoginSpec login = config.login();
      assertThat(login.call().method()).isEqualTo("GET");
      assertThat(login.call().url()).isEqualTo(URI.create("https://saas.example.com/login"));
      assertThat(login.call().headers()).containsOnlyKeys("Authorization");
      assertThat(login.call().headers().get("Authorization").uses(Placeholder.AUTHSTRING)).isTrue();
      assertThat(login.call().body().isEmpty()).isTrue();
      assertThat(login.call().mapping()).isEqualTo(ResponseMapping.SEED);
      assertThat(text(login.user())).isEqualTo("YOUR_USERNAME");
      assertThat(text(login.password())).isEqualTo("YOUR_PASSWORD");
      assertThat(text(login.authstring())).isEqualTo("dXNlcjpwYXNz");
      assertThat(login.initialRefreshToken().isEmpty()).isTrue();
    }

    @Test
    void keepsTheRefreshCallWithTheRefreshTokenInBodyAndHeader() throws Exception {
      TokenCall refresh = load(SEED_SAMPLE, Map.of("YOUR_AUTHSTRING", "x")).refresh();

      assertThat(refresh.method()).isEqualTo("POST");
      assertThat(refresh.url()).isEqualTo(URI.create("https://saas.example.com/refresh"));
      assertThat(refresh.headers().get("Authorization").uses(Placeholder.REFRESHTOKEN)).isTrue();
      assertThat(refresh.body().raw().uses(Placeholder.REFRESHTOKEN)).isTrue();
      byte[] body = refresh.body().raw().render(p -> p == Placeholder.REFRESHTOKEN ? "r-1".getBytes() : null);
      assertThat(new String(body, StandardCharsets.UTF_8)).isEqualTo("{\"token\": \"r-1\"}");
      assertThat(refresh.mapping()).isEqualTo(ResponseMapping.SEED);
    }

    @Test
    void keepsTheRelayRules() throws Exception {
      RelaySpec relay = load(SEED_SAMPLE, Map.of("YOUR_AUTHSTRING", "x")).relay();

      assertThat(relay.url()).isEqualTo(URI.create("https://saas.example.com/"));
      assertThat(relay.method()).isEqualTo("GET");
      assertThat(relay.contentType()).isEqualTo("application/json");
      assertThat(relay.fixedToken().isEmpty()).isTrue();
      assertThat(relay.data().isEmpty()).isTrue();
      assertThat(relay.parameters()).containsOnlyKeys("country_code");
      assertThat(text(relay.parameters().get("country_code"))).isEqualTo("US");
      assertThat(relay.headers()).containsOnlyKeys("Authorization", "Content-Type");
      byte[] auth = relay.headers().get("Authorization").render(p -> p == Placeholder.ACCESSTOKEN ? "t-1".getBytes() : null);
      assertThat(new String(auth, StandardCharsets.UTF_8)).isEqualTo("Bearer t-1");
    }

    @Test
    void failsWithoutYourAuthstringNamingTheFieldAndTheVariable() throws Exception {
      ConfigException e = failure(SEED_SAMPLE, Map.of());

      assertThat(e.problems())
          .containsExactly(
              dir.resolve("relay.json") + ": login.authstring: environment variable YOUR_AUTHSTRING is not set");
    }
  }

  @Nested
  class Defaults {
    @Test
    void listenOnLoopbackPort8080WithoutDebugOrLogfile() throws Exception {
      RelayConfig config = load(MINIMAL, Map.of());

      assertThat(config.host()).isEqualTo("127.0.0.1");
      assertThat(config.port()).isEqualTo(8080);
      assertThat(config.debug()).isFalse();
      assertThat(config.logfile()).isNull();
    }

    @Test
    void useTheSeedResponseMappingAndNoRefreshCall() throws Exception {
      RelayConfig config = load(MINIMAL, Map.of());

      assertThat(config.login().call().mapping()).isEqualTo(ResponseMapping.SEED);
      assertThat(config.login().call().method()).isEqualTo("GET");
      assertThat(config.refresh()).isNull();
      assertThat(config.relay().method()).isNull();
      assertThat(config.variables()).isEmpty();
    }

    @Test
    void nameTheFileTheUserGaveInEveryProblem() throws Exception {
      ConfigException e = failure("{\"relay\": {\"url\": \"https://api.example.com/\"}}", Map.of());

      assertThat(e.problems()).allSatisfy(p -> assertThat(p).startsWith(dir.resolve("relay.json") + ": "));
    }
  }

  @Nested
  class EnvironmentReferences {
    @Test
    void resolveDollarBraceNameFromTheInjectedEnvironment() throws Exception {
      RelayConfig config =
          load(
              """
              { "login": { "url": "https://idp.example.com/login", "user": "${API_USER}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of("API_USER", "client_123"));

      assertThat(text(config.login().user())).isEqualTo("client_123");
      assertThat(config.variables()).containsExactly("API_USER");
    }

    @Test
    void resolveEnvPrefixedReferencesFromTheInjectedEnvironment() throws Exception {
      RelayConfig config =
          load(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "${env:API_PASSWORD}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of("API_PASSWORD", "s3cr3t!"));

      assertThat(text(config.login().password())).isEqualTo("s3cr3t!");
      assertThat(config.variables()).containsExactly("API_PASSWORD");
    }

    @Test
    void resolveInsideUrlsAndTopLevelFields() throws Exception {
      RelayConfig config =
          load(
              """
              { "host": "${BIND}", "port": "${PORT}",
                "login": { "url": "https://${IDP_HOST}/login" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of("BIND", "0.0.0.0", "PORT", "9090", "IDP_HOST", "idp.internal"));

      assertThat(config.host()).isEqualTo("0.0.0.0");
      assertThat(config.port()).isEqualTo(9090);
      assertThat(config.login().call().url()).isEqualTo(URI.create("https://idp.internal/login"));
    }

    @Test
    void doubleDollarWritesALiteralReference() throws Exception {
      RelayConfig config =
          load(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "pa$${X}ss" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(text(config.login().password())).isEqualTo("pa${X}ss");
      assertThat(config.variables()).isEmpty();
    }

    @Test
    void aMissingVariableNamesFileFieldAndVariableButNoOtherValue() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login?tenant=canary-tenant",
                           "user": "canary-user",
                           "authstring": "${PRESENT}",
                           "password": "${API_PASSWORD}" },
                "relay": { "url": "https://api.example.com/", "fixedtoken": "" } }
              """,
              Map.of("PRESENT", "canary-present-value"));

      assertThat(e.problems()).hasSize(1);
      assertThat(e.getMessage())
          .contains(dir.resolve("relay.json").toString())
          .contains("login.password")
          .contains("API_PASSWORD")
          .doesNotContain("canary-user")
          .doesNotContain("canary-present-value")
          .doesNotContain("canary-tenant")
          .doesNotContain("idp.example.com");
    }

    @Test
    void everyMissingVariableIsReportedAtOnce() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login", "user": "${U}", "password": "${P}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems()).hasSize(2);
      assertThat(e.getMessage()).contains("login.user").contains("U is not set").contains("login.password");
    }

    @Test
    void aVaultReferenceWithoutVaultSettingsNamesTheReferenceAndTheMissingSection() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "${vault:x#y}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems())
          .singleElement()
          .asString()
          .contains("login.password", "${vault:x#y}", "secrets.vault");
    }

    @Test
    void anUnterminatedReferenceNamesTheField() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "${API_PASSWORD" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of("API_PASSWORD", "secret"));

      assertThat(e.getMessage()).contains("login.password").contains("unterminated");
    }
  }

  @Nested
  class Validation {
    @Test
    void aUrlThatIsNotAUrlNamesRelayUrl() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login" }, "relay": { "url": "not a url" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains("relay.url").doesNotContain("not a url");
    }

    @Test
    void aUrlWithUserInfoNamesRelayUrlWithoutEchoingTheCredentials() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://bob:hunter2@api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains("relay.url").contains("user-info");
      assertThat(e.getMessage()).doesNotContain("hunter2").doesNotContain("bob");
    }

    @Test
    void aMissingRelaySectionNamesRelay() throws Exception {
      ConfigException e = failure("{ \"login\": { \"url\": \"https://idp.example.com/login\" } }", Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": relay: missing section");
    }

    @Test
    void aMissingLoginWithoutFixedTokenNamesLogin() throws Exception {
      ConfigException e = failure("{ \"relay\": { \"url\": \"https://api.example.com/\" } }", Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": login: missing section");
    }

    @Test
    void aFixedTokenAllowsNoLogin() throws Exception {
      RelayConfig config =
          load(
              """
              { "relay": { "url": "https://api.example.com/", "fixedtoken": "${STATIC_TOKEN}" } }
              """,
              Map.of("STATIC_TOKEN", "abc"));

      assertThat(config.login()).isNull();
      assertThat(text(config.relay().fixedToken())).isEqualTo("abc");
    }

    @Test
    void malformedJsonNamesTheLineWithoutEchoingTheTextAroundTheError() throws Exception {
      ConfigException e =
          failure(
              """
              {
                "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/", "fixedtoken": "CANARY-s3cr3t" "data": "" }
              }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains("malformed JSON").contains("line 3");
      assertThat(e.getMessage()).doesNotContain("CANARY").doesNotContain("s3cr3t");
    }

    @Test
    void aMissingFileIsReportedAsSuch() {
      Path missing = dir.resolve("absent.json");

      assertThatThrownBy(() -> new ConfigLoader(name -> null).load(missing))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(missing.toString())
          .hasMessageContaining("does not exist");
    }

    @Test
    void anUnknownFieldIsNamed() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/" },
                "relya": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": relya: unknown field");
    }

    @Test
    void anUnknownNestedFieldIsNamedWithItsSection() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login", "pasword": "x" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": login.pasword: unknown field");
    }

    @Test
    void aRuntimePlaceholderIsRejectedInHost() throws Exception {
      ConfigException e =
          failure(
              """
              { "host": "${ACCESSTOKEN}",
                "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": host: runtime placeholders");
    }

    @Test
    void aRuntimePlaceholderIsRejectedInTheRelayUrl() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/${ACCESSTOKEN}" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": relay.url: runtime placeholders");
    }

    @Test
    void aRuntimePlaceholderIsRejectedInTheLoginUrl() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login?t=${REFRESHTOKEN}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": login.url: runtime placeholders");
    }

    @Test
    void aRuntimePlaceholderInTheRefreshUrlIsReportedOnceUnderRefreshUrl() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login" },
                "refresh": { "url": "https://idp.example.com/refresh?t=${REFRESHTOKEN}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": refresh.url: runtime placeholders");
    }

    @Test
    void aMissingVariableInTheRelayTypeNamesRelayType() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/", "type": "${RELAY_TYPE}" } }
              """,
              Map.of());

      assertThat(e.problems()).singleElement().asString().contains(": relay.type: environment variable RELAY_TYPE");
    }

    @Test
    void authstringWithoutAnyCredentialIsAnError() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login",
                           "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems())
          .singleElement()
          .asString()
          .contains(": login: uses ${AUTHSTRING}")
          .contains("login.authstring, login.user and login.password are all empty");
    }

    @Test
    void authstringWithAUserAndPasswordIsFine() throws Exception {
      RelayConfig config =
          load(
              """
              { "login": { "url": "https://idp.example.com/login", "user": "u", "password": "p",
                           "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());

      assertThat(config.login().call().headers().get("Authorization").uses(Placeholder.AUTHSTRING)).isTrue();
    }

    @Test
    void everyProblemIsReportedAtOnce() throws Exception {
      ConfigException e =
          failure(
              """
              { "port": 70000, "debug": "maybe", "login": { "url": "ftp://idp.example.com/" } }
              """,
              Map.of());

      assertThat(e.problems())
          .hasSize(4)
          .anySatisfy(p -> assertThat(p).contains(": port: "))
          .anySatisfy(p -> assertThat(p).contains(": debug: "))
          .anySatisfy(p -> assertThat(p).contains(": login.url: "))
          .anySatisfy(p -> assertThat(p).contains(": relay: "));
    }
  }

  @Nested
  class ResolvedTemplates {
    @Test
    void neverShowTheResolvedValueInToString() throws Exception {
      RelayConfig config =
          load(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "${API_PASSWORD}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of("API_PASSWORD", "s3cr3t!"));

      assertThat(config.login().password().toString()).isEqualTo("Template[****]").doesNotContain("s3cr3t");
      assertThat(config.login().toString()).doesNotContain("s3cr3t");
      assertThat(config.toString()).doesNotContain("s3cr3t");
    }
  }

  @Nested
  class SecretReferences {
    @Test
    void aFileReferenceInALoginFieldIsResolvedAtEveryRenderSoARotatedFileIsUsed() throws Exception {
      Path password = Files.writeString(dir.resolve("password"), "first\n");
      RelayConfig c =
          load(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "${file:%s}" },
                "relay": { "url": "https://api.example.com/" } }
              """
                  .formatted(password),
              Map.of());
      try {
        assertThat(c.login().password().hasSecretReferences()).isTrue();
        assertThat(text(c.login().password())).isEqualTo("first");
        Files.writeString(password, "second\n");
        assertThat(text(c.login().password())).isEqualTo("second");
        assertThat(c.variables()).contains("file:" + password);
      } finally {
        c.closeSecrets();
      }
    }

    @Test
    void aFileReferenceInARelayHeaderIsResolvedOnceAtStartUp() throws Exception {
      Path key = Files.writeString(dir.resolve("key"), "k1");
      RelayConfig c =
          load(
              """
              { "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/", "headers": { "X-Api-Key": "${file:%s}" } } }
              """
                  .formatted(key),
              Map.of());
      try {
        Template header = c.relay().headers().get("X-Api-Key");
        assertThat(header.isConstant()).isTrue();
        Files.writeString(key, "k2");
        assertThat(text(header)).isEqualTo("k1");
      } finally {
        c.closeSecrets();
      }
    }

    @Test
    void aReferenceThatCannotBeResolvedNamesTheFieldAndTheReference() throws Exception {
      String missing = dir.resolve("missing").toString();
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "${file:%s}" },
                "relay": { "url": "https://api.example.com/" } }
              """
                  .formatted(missing),
              Map.of());
      assertThat(e.problems())
          .singleElement()
          .asString()
          .contains("login.password", "${file:" + missing + "}", "no such file");
    }

    @Test
    void anUnknownSchemeNamesTheSchemeAndTheInstalledProviders() throws Exception {
      ConfigException e =
          failure(
              """
              { "login": { "url": "https://idp.example.com/login", "password": "${nosuch:a/b#c}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());
      assertThat(e.problems())
          .singleElement()
          .asString()
          .contains("login.password", "'nosuch'", "file", "vault", "aws-sm");
    }

    @Test
    void settingsForAProviderThatIsNotInstalledAreAnError() throws Exception {
      ConfigException e =
          failure(
              """
              { "secrets": { "nosuch": { "address": "x" } },
                "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());
      assertThat(e.problems()).singleElement().asString().contains("secrets.nosuch", "no secret provider");
    }

    @Test
    void aProviderSettingTakesEnvironmentReferencesAndAMissingOneIsNamed() throws Exception {
      ConfigException e =
          failure(
              """
              { "secrets": { "vault": { "address": "http://127.0.0.1:1", "token": "${VAULT_TOKEN}" } },
                "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of());
      assertThat(e.problems())
          .singleElement()
          .asString()
          .contains("secrets.vault.token", "VAULT_TOKEN is not set");
    }

    @Test
    void anUnreachableProviderIsAStartUpErrorNamingTheReferenceNotTheToken() throws Exception {
      ConfigException e =
          failure(
              """
              { "secrets": { "vault": { "address": "http://127.0.0.1:1", "token": "${VAULT_TOKEN}",
                                        "timeoutSeconds": 2 } },
                "login": { "url": "https://idp.example.com/login", "password": "${vault:secret/app#password}" },
                "relay": { "url": "https://api.example.com/" } }
              """,
              Map.of("VAULT_TOKEN", "hvs.CANARY-vault-token"));
      assertThat(e.problems())
          .singleElement()
          .asString()
          .contains("login.password", "${vault:secret/app#password}")
          .doesNotContain("CANARY");
    }

    @Test
    void aMissingPluginFolderIsNamedUnderPlugins() throws Exception {
      ConfigException e =
          failure(
              """
              { "plugins": "%s",
                "login": { "url": "https://idp.example.com/login" },
                "relay": { "url": "https://api.example.com/" } }
              """
                  .formatted(dir.resolve("no-plugins")),
              Map.of());
      assertThat(e.problems()).singleElement().asString().contains("plugins:", "is not a folder");
    }
  }
}
