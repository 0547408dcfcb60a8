package io.oauth2relay.secrets.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.SecretException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The reference grammar: {@code <mount>/<path>[?version=N]#<key>}. */
class VaultReferenceTest {

    @Test
    void aPathAndAKey() {
        assertThat(VaultReference.parse("secret/app/db#password"))
                .isEqualTo(new VaultReference("secret/app/db", null, "password"));
    }

    @Test
    void aVersionGoesBeforeTheKey() {
        assertThat(VaultReference.parse("secret/app/db?version=3#password"))
                .isEqualTo(new VaultReference("secret/app/db", 3, "password"));
    }

    @Test
    void theMountIsTheFirstSegment() {
        assertThat(VaultReference.parse("kv-prod/team.a/app_1#k").mount()).isEqualTo("kv-prod");
    }

    @Test
    void aKeyMayHoldAnyPrintableCharacterButHashAndQuestionMark() {
        assertThat(VaultReference.parse("secret/app#client secret/2").key()).isEqualTo("client secret/2");
    }

    @Test
    void aVersionAfterTheKeyIsRefusedWithTheFix() {
        assertThatThrownBy(() -> VaultReference.parse("secret/app#password?version=2"))
                .isInstanceOf(SecretException.class)
                .hasMessageContaining("put ?version=N before #<key>");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "secret/app",                 // no key
        "secret/app#",                // empty key
        "secret/app#a#b",             // two keys
        "secret#password",            // mount only
        "/secret/app#password",       // empty segment
        "secret//app#password",       // empty segment
        "secret/app/#password",       // empty segment
        "secret/../sys#password",     // traversal
        "secret/./app#password",      // dot segment
        "secret/a%2Fb#password",      // escapes
        "secret/a b#password",        // space
        "secret/app?v=1#password",    // unknown parameter
        "secret/app?version=0#password",
        "secret/app?version=-1#password",
        "secret/app?version=x#password",
        "secret/app?version=1234567890#password",
    })
    void malformedReferencesAreRefusedNamingTheReference(String reference) {
        assertThatThrownBy(() -> VaultReference.parse(reference))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith(reference + ": malformed vault reference")
                .hasMessageEndingWith("(expected: <mount>/<path>[?version=N]#<key>)");
    }
}
