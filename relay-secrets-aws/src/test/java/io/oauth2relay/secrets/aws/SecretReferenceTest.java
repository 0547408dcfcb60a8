package io.oauth2relay.secrets.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.SecretException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class SecretReferenceTest {

    @Test
    void aNameAlone() {
        final SecretReference ref = SecretReference.parse("prod/db");

        assertThat(ref.secretId()).isEqualTo("prod/db");
        assertThat(ref.jsonKey()).isNull();
        assertThat(ref.versionStage()).isNull();
        assertThat(ref.versionId()).isNull();
    }

    @Test
    void aNameWithAJsonKey() {
        final SecretReference ref = SecretReference.parse("prod/db#password");

        assertThat(ref.secretId()).isEqualTo("prod/db");
        assertThat(ref.jsonKey()).isEqualTo("password");
    }

    @Test
    void aVersionStageComesBeforeTheKey() {
        final SecretReference ref = SecretReference.parse("prod/db?versionStage=AWSPREVIOUS#password");

        assertThat(ref.secretId()).isEqualTo("prod/db");
        assertThat(ref.versionStage()).isEqualTo("AWSPREVIOUS");
        assertThat(ref.versionId()).isNull();
        assertThat(ref.jsonKey()).isEqualTo("password");
    }

    @Test
    void aVersionId() {
        final SecretReference ref = SecretReference.parse("prod/db?versionId=EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE");

        assertThat(ref.versionId()).isEqualTo("EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE");
        assertThat(ref.versionStage()).isNull();
        assertThat(ref.jsonKey()).isNull();
    }

    @Test
    void anArnKeepsItsColonsAndTheNameItsAtSigns() {
        final SecretReference ref = SecretReference.parse(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team@prod/db-AbCdEf#password");

        assertThat(ref.secretId()).isEqualTo("arn:aws:secretsmanager:eu-west-1:123456789012:secret:team@prod/db-AbCdEf");
        assertThat(ref.jsonKey()).isEqualTo("password");
    }

    @Test
    void everythingAfterTheFirstHashIsTheKey() {
        final SecretReference ref = SecretReference.parse("prod/db#odd?key#with=marks");

        assertThat(ref.secretId()).isEqualTo("prod/db");
        assertThat(ref.versionStage()).isNull();
        assertThat(ref.jsonKey()).isEqualTo("odd?key#with=marks");
    }

    @Test
    void toStringIsTheReferenceAsWritten() {
        assertThat(SecretReference.parse("prod/db?versionStage=AWSPREVIOUS#password"))
                .hasToString("prod/db?versionStage=AWSPREVIOUS#password");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "#password", "?versionStage=AWSPREVIOUS", "prod/db#", " prod/db",
            "prod/db?", "prod/db?versionStage=", "prod/db?versionId=", "prod/db?stage=AWSPREVIOUS",
            "prod/db?versionStage=AWSPREVIOUS&versionId=abc", "prod/db?versionStage=A=B"})
    void malformedReferencesAreRefusedNamingTheReference(String reference) {
        assertThatThrownBy(() -> SecretReference.parse(reference))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith(reference + ": malformed aws-sm reference: ");
    }
}
