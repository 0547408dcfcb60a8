package io.oauth2relay.secrets.aws;

import static java.util.Objects.requireNonNull;

import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import io.oauth2relay.secrets.spi.SecretProviderFactory;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClientBuilder;

/**
 * Creates the {@code aws-sm} provider: {@code ${aws-sm:prod/db#password}} resolves through AWS Secrets
 * Manager (see {@link AwsSecretsManagerProvider} for the reference grammar).
 *
 * <p>Settings, all optional:
 *
 * <ul>
 *   <li>{@code region}: the AWS region, e.g. {@code eu-west-1}. Without it, the SDK's default region
 *       chain ({@code aws.region}, {@code AWS_REGION}, the profile's {@code region}, EC2 instance metadata).
 *   <li>{@code endpoint}: an {@code http} or {@code https} URL that replaces the regional endpoint, e.g. a
 *       VPC endpoint or, in tests, a {@code moto_server}. No user info, query or fragment.
 *   <li>{@code profile}: a profile of the shared AWS config and credentials files. Its credentials are used
 *       (and only they), and its settings, such as {@code region}, apply when not set here.
 * </ul>
 *
 * <p>Without {@code profile}, credentials come from the SDK's default chain (system properties
 * {@code aws.accessKeyId}/{@code aws.secretAccessKey}, environment, web identity, the default profile,
 * container and instance credentials), looked up on the first {@code resolve}. Credentials are never a
 * setting here: the relay configuration is not a place for them.
 *
 * <p>HTTP goes through the SDK's {@code url-connection-client} (the JDK's {@code HttpURLConnection}), so
 * the provider brings neither Apache HttpClient nor a second Netty into the relay.
 */
public final class AwsSecretsManagerProviderFactory implements SecretProviderFactory {

    /** The reference scheme, as in {@code ${aws-sm:...}}. */
    public static final String NAME = "aws-sm";

    static final String REGION = "region";
    static final String ENDPOINT = "endpoint";
    static final String PROFILE = "profile";
    private static final Set<String> KEYS = Set.of(REGION, ENDPOINT, PROFILE);

    // us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1, ...
    private static final Pattern REGION_PATTERN = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)+");
    private static final Pattern PROFILE_PATTERN = Pattern.compile("[A-Za-z0-9_.@+/-]+");

    /** Does nothing: {@link java.util.ServiceLoader} needs it, and configuration comes to {@link #create}. */
    public AwsSecretsManagerProviderFactory() {
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Creates a provider from {@code region}, {@code endpoint} and {@code profile}, all optional.
     *
     * @throws IllegalArgumentException if a key is unknown or a value invalid; the message names the key,
     *     never the value
     * @throws SecretException if the SDK client cannot be built, typically because no region is set and
     *     the SDK's default region chain finds none
     */
    @Override
    public SecretProvider create(Map<String, String> config) {
        requireNonNull(config, "config");
        for (Map.Entry<String, String> entry : config.entrySet()) {
            if (!KEYS.contains(entry.getKey())) {
                throw new IllegalArgumentException(NAME + ": unknown setting " + entry.getKey()
                        + " (expected: region, endpoint, profile)");
            }
            if (entry.getValue() == null) {
                throw new IllegalArgumentException(NAME + "." + entry.getKey() + ": missing value");
            }
        }
        final String region = config.get(REGION);
        final String endpoint = config.get(ENDPOINT);
        final String profile = config.get(PROFILE);

        final SecretsManagerClientBuilder builder = SecretsManagerClient.builder()
                // The builder owns the HTTP client it builds, and closes it with the SDK client.
                .httpClientBuilder(UrlConnectionHttpClient.builder());
        final StringBuilder description = new StringBuilder(NAME);
        if (region != null) {
            if (!REGION_PATTERN.matcher(region).matches()) {
                throw invalid(REGION, "not a region name (expected: like us-east-1)");
            }
            builder.region(Region.of(region));
            description.append(", region=").append(region);
        }
        if (endpoint != null) {
            final URI uri = parseEndpoint(endpoint);
            builder.endpointOverride(uri);
            description.append(", endpoint=").append(uri);
        }
        if (profile != null) {
            if (!PROFILE_PATTERN.matcher(profile).matches()) {
                throw invalid(PROFILE, "not a profile name");
            }
            builder.credentialsProvider(ProfileCredentialsProvider.builder().profileName(profile).build());
            builder.overrideConfiguration(o -> o.defaultProfileName(profile));
            description.append(", profile=").append(profile);
        }
        try {
            return new AwsSecretsManagerProvider(builder.build(), description.toString());
        } catch (SdkException e) {
            // For example "Unable to load region from any of the providers in the chain": the SDK's
            // messages here are about configuration and never hold a credential.
            throw new SecretException(NAME + ": cannot set up the Secrets Manager client"
                    + (region == null ? " (no region set: set region, or AWS_REGION)" : ""), e);
        }
    }

    private static URI parseEndpoint(String endpoint) {
        final URI uri;
        try {
            uri = new URI(endpoint);
        } catch (URISyntaxException e) {
            // The cause is not attached: its message quotes the input.
            throw invalid(ENDPOINT, "not a URL");
        }
        final String scheme = uri.getScheme();
        if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme)) {
            throw invalid(ENDPOINT, "not an http or https URL");
        }
        if (uri.getHost() == null) {
            throw invalid(ENDPOINT, "no host");
        }
        if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw invalid(ENDPOINT, "must not have user info, a query or a fragment");
        }
        return uri;
    }

    private static IllegalArgumentException invalid(String key, String why) {
        return new IllegalArgumentException(NAME + "." + key + ": " + why);
    }
}
