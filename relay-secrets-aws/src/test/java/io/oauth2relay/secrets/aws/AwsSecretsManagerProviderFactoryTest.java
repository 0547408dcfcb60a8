package io.oauth2relay.secrets.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.SecretProvider;
import io.oauth2relay.secrets.spi.SecretProviderFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class AwsSecretsManagerProviderFactoryTest {

    private static final String CANARY = "canary-value-in-config";

    private final AwsSecretsManagerProviderFactory factory = new AwsSecretsManagerProviderFactory();

    @Test
    void isFoundByServiceLoaderUnderTheNameAwsSm() {
        final List<SecretProviderFactory> found = ServiceLoader.load(SecretProviderFactory.class).stream()
                .map(ServiceLoader.Provider::get)
                .collect(Collectors.toList());

        assertThat(found).filteredOn(f -> f.name().equals("aws-sm"))
                .singleElement()
                .isInstanceOf(AwsSecretsManagerProviderFactory.class);
    }

    @Test
    void createsAProviderFromRegionEndpointAndProfile() {
        try (SecretProvider provider = factory.create(
                Map.of("region", "eu-west-1", "endpoint", "https://vpce.example.test", "profile", "relay"))) {
            assertThat(provider).isInstanceOf(AwsSecretsManagerProvider.class);
            assertThat(provider.toString()).isEqualTo(
                    "AwsSecretsManagerProvider[aws-sm, region=eu-west-1, endpoint=https://vpce.example.test, profile=relay]");
        }
    }

    @Test
    void refusesAnUnknownKeyNamingIt() {
        assertThatThrownBy(() -> factory.create(Map.of("region", "us-east-1", "secretAccessKey", CANARY)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("aws-sm: unknown setting secretAccessKey (expected: region, endpoint, profile)");
    }

    @Test
    void refusesAnInvalidRegionNamingTheKeyButNotTheValue() {
        assertThatThrownBy(() -> factory.create(Map.of("region", "us east " + CANARY)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("aws-sm.region: ")
                .hasMessageNotContaining(CANARY);
    }

    @Test
    void refusesAnEndpointThatIsNotAUrl() {
        assertThatThrownBy(() -> factory.create(Map.of("region", "us-east-1", "endpoint", "http://bad host/" + CANARY)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("aws-sm.endpoint: not a URL")
                .hasNoCause();
    }

    @Test
    void refusesAnEndpointWithCredentialsInIt() {
        assertThatThrownBy(() -> factory.create(
                Map.of("region", "us-east-1", "endpoint", "https://user:" + CANARY + "@sm.example.test")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("aws-sm.endpoint: must not have user info, a query or a fragment");
    }

    @Test
    void refusesAnEndpointThatIsNotHttp() {
        assertThatThrownBy(() -> factory.create(Map.of("region", "us-east-1", "endpoint", "ftp://sm.example.test")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("aws-sm.endpoint: not an http or https URL");
    }

    @Test
    void refusesABlankProfile() {
        assertThatThrownBy(() -> factory.create(Map.of("region", "us-east-1", "profile", " ")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("aws-sm.profile: not a profile name");
    }

    @Test
    void refusesAMissingValue() {
        final Map<String, String> config = new HashMap<>();
        config.put("region", null);

        assertThatThrownBy(() -> factory.create(config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("aws-sm.region: missing value");
    }
}
