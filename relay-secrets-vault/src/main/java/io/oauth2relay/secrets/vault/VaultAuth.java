package io.oauth2relay.secrets.vault;

import io.oauth2relay.secrets.spi.Secret;
import java.nio.file.Path;

/**
 * How the provider gets its Vault token: given outright, or by logging in with AppRole or with a
 * Kubernetes service-account JWT. Credentials are held as {@link Secret}s and zeroed by {@link #destroy()}.
 */
sealed interface VaultAuth permits VaultAuth.Token, VaultAuth.AppRole, VaultAuth.Kubernetes {

    /**
     * Returns whether a fresh token can be had by logging in again, which is what the provider does when
     * renewal fails or the token reaches its maximum TTL.
     */
    boolean canLogIn();

    /** Zeroes the credentials. */
    void destroy();

    /** A token given in the configuration ({@code auth=token}). */
    record Token(Secret token) implements VaultAuth {
        @Override
        public boolean canLogIn() {
            return false;
        }

        @Override
        public void destroy() {
            token.destroy();
        }
    }

    /** AppRole login ({@code auth=approle}) at {@code POST /v1/auth/<mount>/login}. */
    record AppRole(String mount, Secret roleId, Secret secretId) implements VaultAuth {
        @Override
        public boolean canLogIn() {
            return true;
        }

        @Override
        public void destroy() {
            roleId.destroy();
            secretId.destroy();
        }
    }

    /**
     * Kubernetes login ({@code auth=kubernetes}) at {@code POST /v1/auth/<mount>/login}. The JWT file is read
     * at every login, not once: the kubelet rotates projected service-account tokens.
     */
    record Kubernetes(String mount, String role, Path jwtFile) implements VaultAuth {
        @Override
        public boolean canLogIn() {
            return true;
        }

        @Override
        public void destroy() {
            // Nothing held: the JWT lives in its file and is read (then zeroed) at each login.
        }
    }
}
