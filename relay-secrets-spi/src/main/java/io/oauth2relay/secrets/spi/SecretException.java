package io.oauth2relay.secrets.spi;

/**
 * Thrown when a secret cannot be resolved: the reference is unknown, the backend is unreachable, or it
 * refused the request.
 *
 * <p>The message must name the reference (for example {@code "kv/app#password: not found"}) and never the
 * value, nor a credential used to reach the backend: messages end up in logs and in {@code check} output.
 * The same goes for the cause: wrap a library's exception only if its message cannot carry the value.
 */
public class SecretException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong, naming the reference and never the value
     */
    public SecretException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and the exception that caused it.
     *
     * @param message what went wrong, naming the reference and never the value
     * @param cause the underlying failure, for example an I/O error from the backend
     */
    public SecretException(String message, Throwable cause) {
        super(message, cause);
    }
}
