package io.oauth2relay.secrets.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.aws.JsonField.Failure;
import io.oauth2relay.secrets.aws.JsonField.SelectionException;
import java.nio.CharBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonFieldTest {

    @Test
    void selectsAStringField() throws SelectionException {
        assertThat(JsonField.select("{\"user\":\"u\",\"password\":\"p\"}", "password")).containsExactly('p');
    }

    @Test
    void decodesEveryEscape() throws SelectionException {
        final char[] value = JsonField.select("{\"k\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", "k");

        assertThat(new String(value)).isEqualTo("\"\\/\b\f\n\r\t\u00e9\ud83d\ude00");
    }

    @Test
    void matchesAKeyWrittenWithEscapes() throws SelectionException {
        assertThat(new String(JsonField.select("{\"pass\\u0077ord\":\"x\"}", "password"))).isEqualTo("x");
    }

    @Test
    void returnsANumberAsWritten() throws SelectionException {
        assertThat(new String(JsonField.select("{\"n\":-0.25E+2}", "n"))).isEqualTo("-0.25E+2");
        assertThat(new String(JsonField.select("{\"n\":0}", "n"))).isEqualTo("0");
    }

    @Test
    void skipsNestedValuesAndWhitespace() throws SelectionException {
        final String json = " \n{ \"a\" : [1, {\"b\": [true, false, null]}, \"s\"],\r\n\t\"o\": {\"k\": \"nested\"},"
                + " \"k\" : \"top\" } \n";

        assertThat(new String(JsonField.select(json, "k"))).isEqualTo("top");
    }

    @Test
    void readsFromAnyCharSequence() throws SelectionException {
        assertThat(new String(JsonField.select(CharBuffer.wrap("{\"k\":\"v\"}".toCharArray()), "k"))).isEqualTo("v");
    }

    @Test
    void anEmptyStringIsAValue() throws SelectionException {
        assertThat(JsonField.select("{\"k\":\"\"}", "k")).isEmpty();
    }

    @Test
    void aMissingKeyIsNoSuchKey() {
        assertFailure("{\"a\":\"b\",\"o\":{\"k\":\"nested only\"}}", Failure.NO_SUCH_KEY);
        assertFailure("{}", Failure.NO_SUCH_KEY);
    }

    @Test
    void aKeyTwiceIsRefused() {
        assertFailure("{\"k\":\"one\",\"k\":\"two\"}", Failure.DUPLICATE_KEY);
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"k\":{}}", "{\"k\":[\"v\"]}", "{\"k\":true}", "{\"k\":null}"})
    void otherValueTypesAreRefused(String json) {
        assertFailure(json, Failure.NOT_A_STRING_OR_NUMBER);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "plain text", "\"k\"", "[{\"k\":\"v\"}]", "{\"k\":\"v\"", "{\"k\":\"v\"} x",
            "{\"k\":\"v\",}", "{k:\"v\"}", "{\"k\":'v'}", "{\"k\":01}", "{\"k\":1.}", "{\"k\":\"\\x\"}",
            "{\"k\":\"\\u12G4\"}", "{\"k\":\"line\nbreak\"}", "{\"a\":tru,\"k\":\"v\"}", "{\"k\":\"v\"}}"})
    void anythingButAJsonObjectIsNotJson(String text) {
        assertFailure(text, Failure.NOT_A_JSON_OBJECT);
    }

    @Test
    void absurdNestingIsNotJsonRatherThanAStackOverflow() {
        final String json = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + ",\"k\":\"v\"}";

        assertFailure(json, Failure.NOT_A_JSON_OBJECT);
    }

    @Test
    void failuresCarryNoPartOfTheText() {
        assertThatThrownBy(() -> JsonField.select("{\"k\":\"secret-value\"", "k"))
                .hasMessage("NOT_A_JSON_OBJECT")
                .hasNoCause();
    }

    private static void assertFailure(String json, Failure expected) {
        assertThatThrownBy(() -> JsonField.select(json, "k"))
                .isInstanceOfSatisfying(SelectionException.class, e -> assertThat(e.failure()).isEqualTo(expected));
    }
}
