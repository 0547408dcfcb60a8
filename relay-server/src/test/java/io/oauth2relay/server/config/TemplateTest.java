package io.oauth2relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Specifies how a config string is parsed into literals and runtime placeholders, and how it renders. */
class TemplateTest {
  private final Problems problems = new Problems();
  private final Set<String> resolved = new TreeSet<>();

  private Template parse(String raw, Map<String, String> env) {
    return Template.parse(raw, "relay.headers.Authorization", env::get, problems, resolved);
  }

  private static TemplateValues tokens(String access, String type) {
    return p ->
        switch (p) {
          case ACCESSTOKEN -> access.getBytes(StandardCharsets.UTF_8);
          case TOKENTYPE -> type.getBytes(StandardCharsets.UTF_8);
          default -> null;
        };
  }

  private static String render(Template t, TemplateValues values) {
    return new String(t.render(values), StandardCharsets.UTF_8);
  }

  private static String formEncoded(Template t, TemplateValues values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    t.renderTo(out, values, true);
    return out.toString(StandardCharsets.US_ASCII);
  }

  @Test
  void rendersPlaceholdersFromTheCurrentValues() {
    Template t = parse("${TOKENTYPE} ${ACCESSTOKEN}", Map.of());

    assertThat(render(t, tokens("t-1", "Bearer"))).isEqualTo("Bearer t-1");
    assertThat(render(t, tokens("t-2", "MAC"))).isEqualTo("MAC t-2");
  }

  @Test
  void rendersAnAbsentValueAsNothing() {
    Template t = parse("Bearer ${ACCESSTOKEN}!", Map.of());

    assertThat(render(t, TemplateValues.NONE)).isEqualTo("Bearer !");
  }

  @Test
  void resolvesEnvironmentReferencesOnceAtParseTime() {
    Template t = parse("${PREFIX}-${env:SUFFIX}", Map.of("PREFIX", "a", "SUFFIX", "b"));

    assertThat(t.isConstant()).isTrue();
    assertThat(t.constantText()).isEqualTo("a-b");
    assertThat(resolved).containsExactly("PREFIX", "SUFFIX");
    assertThat(problems.isEmpty()).isTrue();
  }

  @Test
  void doesNotExpandReferencesInsideAnEnvironmentValue() {
    Template t = parse("${INJECTED}", Map.of("INJECTED", "${ACCESSTOKEN}${OTHER}"));

    assertThat(t.isConstant()).isTrue();
    assertThat(t.uses(Placeholder.ACCESSTOKEN)).isFalse();
    assertThat(t.constantText()).isEqualTo("${ACCESSTOKEN}${OTHER}");
    assertThat(resolved).containsExactly("INJECTED");
  }

  @Test
  void doubleDollarEscapesAPlaceholderToo() {
    Template t = parse("$${ACCESSTOKEN}", Map.of());

    assertThat(t.isConstant()).isTrue();
    assertThat(t.constantText()).isEqualTo("${ACCESSTOKEN}");
  }

  @Test
  void formEncodesRenderedSecretsByteForByte() {
    Template t = parse("${SECRET}", Map.of("SECRET", "a+b&c=d e/é€"));

    assertThat(formEncoded(t, TemplateValues.NONE)).isEqualTo("a%2Bb%26c%3Dd+e%2F%C3%A9%E2%82%AC");
  }

  @Test
  void formEncodesPlaceholderValuesToo() {
    Template t = parse("${ACCESSTOKEN}", Map.of());

    assertThat(formEncoded(t, tokens("x+y=z&w v", "Bearer"))).isEqualTo("x%2By%3Dz%26w+v");
  }

  @Test
  void leavesUnreservedCharactersAsTheyAre() {
    Template t = Template.literal("AZaz09-._*");

    assertThat(formEncoded(t, TemplateValues.NONE)).isEqualTo("AZaz09-._*");
  }

  @Test
  void tellsWhichPlaceholdersItUses() {
    Template t = parse("Basic ${AUTHSTRING}", Map.of());

    assertThat(t.uses(Placeholder.AUTHSTRING)).isTrue();
    assertThat(t.uses(Placeholder.ACCESSTOKEN)).isFalse();
    assertThat(t.uses(Placeholder.REFRESHTOKEN)).isFalse();
    assertThat(t.isConstant()).isFalse();
  }

  @Test
  void refusesConstantTextWhenItHasPlaceholders() {
    Template t = parse("Bearer ${ACCESSTOKEN}", Map.of());

    assertThatThrownBy(t::constantText).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void anEmptyStringIsTheEmptyTemplate() {
    assertThat(parse("", Map.of())).isSameAs(Template.empty());
    assertThat(Template.literal("")).isSameAs(Template.empty());
    assertThat(Template.empty().isEmpty()).isTrue();
    assertThat(Template.empty().render(TemplateValues.NONE)).isEmpty();
  }

  @Test
  void toStringNeverShowsTheContent() {
    Template t = parse("Basic ${SECRET}", Map.of("SECRET", "s3cr3t!"));

    assertThat(t.toString()).isEqualTo("Template[****]").doesNotContain("s3cr3t").doesNotContain("Basic");
    assertThat(Template.empty().toString()).isEqualTo("Template[empty]");
  }

  @Test
  void reportsAMissingVariableUnderItsFieldWithoutTheRestOfTheValue() {
    parse("prefix-canary ${MISSING}", Map.of());

    assertThat(problems.lines())
        .containsExactly("relay.headers.Authorization: environment variable MISSING is not set");
  }

  @Test
  void rendersIntoAFreshArrayEachTime() {
    Template t = parse("${SECRET}", Map.of("SECRET", "abc"));

    byte[] first = t.render(TemplateValues.NONE);
    java.util.Arrays.fill(first, (byte) 0);

    assertThat(render(t, TemplateValues.NONE)).isEqualTo("abc");
  }
}
