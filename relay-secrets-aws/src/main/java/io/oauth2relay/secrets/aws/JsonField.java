package io.oauth2relay.secrets.aws;

import java.util.Arrays;

/**
 * Selects one top-level field of a JSON object and returns its value as a {@code char[]} the caller owns.
 *
 * <p>Written by hand, rather than with a JSON library, for two reasons: the module stays free of a JSON
 * dependency, and no value is ever turned into a {@code String}: the selected value is decoded straight
 * into a {@code char[]} of the right size (a first pass measures it), and the other values are checked
 * and skipped without being copied at all. Only field names become {@code String}s, to be compared with
 * the wanted key.
 *
 * <p>The whole text is checked against RFC 8259, so a truncated or garbled document is reported as not
 * JSON rather than half-read. Failures are reported as a {@link Failure} kind, never with a position or an
 * excerpt of the text: the text is a secret.
 *
 * <p>Stateless apart from one parse; a new instance per call, not shared between threads.
 */
final class JsonField {

    /** Why a field could not be selected. None of them carries any part of the text. */
    enum Failure {
        NOT_A_JSON_OBJECT,
        NO_SUCH_KEY,
        DUPLICATE_KEY,
        NOT_A_STRING_OR_NUMBER
    }

    /** Thrown by {@link #select}; its message is the failure kind only. */
    static final class SelectionException extends Exception {
        private static final long serialVersionUID = 1L;

        private final Failure failure;

        SelectionException(Failure failure) {
            super(failure.name(), null, false, false);
            this.failure = failure;
        }

        Failure failure() {
            return failure;
        }
    }

    // Deep enough for any secret document; bounds the recursion of skipValue.
    private static final int MAX_DEPTH = 128;

    private final CharSequence text;
    private final String key;
    private int pos;
    private char[] selected;
    private boolean selectedIsScalar;
    private boolean found;

    private JsonField(CharSequence text, String key) {
        this.text = text;
        this.key = key;
    }

    /**
     * Returns the value of the top-level field {@code key} of the JSON object {@code text}: a string's
     * decoded characters, or a number's text as written (for example {@code 5432} or {@code 1.5e3}).
     *
     * @return a new array the caller owns and must zero
     * @throws SelectionException if {@code text} is not a JSON object, has no such field (or has it
     *     twice), or the field is not a string or a number
     */
    static char[] select(CharSequence text, String key) throws SelectionException {
        final JsonField parser = new JsonField(text, key);
        try {
            parser.parseDocument();
            if (!parser.found) {
                throw new SelectionException(Failure.NO_SUCH_KEY);
            }
            if (!parser.selectedIsScalar) {
                throw new SelectionException(Failure.NOT_A_STRING_OR_NUMBER);
            }
            final char[] result = parser.selected;
            parser.selected = null;
            return result;
        } catch (SelectionException | RuntimeException e) {
            parser.wipe();
            throw e;
        }
    }

    private void wipe() {
        if (selected != null) {
            Arrays.fill(selected, '\0');
            selected = null;
        }
    }

    private void parseDocument() throws SelectionException {
        skipWhitespace();
        expect('{');
        skipWhitespace();
        if (peek() == '}') {
            pos++;
        } else {
            while (true) {
                skipWhitespace();
                final String name = readName();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                if (name.equals(key)) {
                    if (found) {
                        throw new SelectionException(Failure.DUPLICATE_KEY);
                    }
                    found = true;
                    readSelectedValue();
                } else {
                    skipValue(1);
                }
                skipWhitespace();
                final char c = next();
                if (c == '}') {
                    break;
                }
                if (c != ',') {
                    throw notJson();
                }
            }
        }
        skipWhitespace();
        if (pos != text.length()) {
            throw notJson();
        }
    }

    private void readSelectedValue() throws SelectionException {
        final char c = peek();
        if (c == '"') {
            selected = readString();
            selectedIsScalar = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            final int start = pos;
            skipNumber();
            selected = new char[pos - start];
            for (int i = 0; i < selected.length; i++) {
                selected[i] = text.charAt(start + i);
            }
            selectedIsScalar = true;
        } else {
            skipValue(1);
        }
    }

    private void skipValue(int depth) throws SelectionException {
        if (depth > MAX_DEPTH) {
            throw notJson();
        }
        final char c = peek();
        switch (c) {
            case '{':
                pos++;
                skipWhitespace();
                if (peek() == '}') {
                    pos++;
                    return;
                }
                while (true) {
                    skipWhitespace();
                    skipString();
                    skipWhitespace();
                    expect(':');
                    skipWhitespace();
                    skipValue(depth + 1);
                    skipWhitespace();
                    final char d = next();
                    if (d == '}') {
                        return;
                    }
                    if (d != ',') {
                        throw notJson();
                    }
                }
            case '[':
                pos++;
                skipWhitespace();
                if (peek() == ']') {
                    pos++;
                    return;
                }
                while (true) {
                    skipWhitespace();
                    skipValue(depth + 1);
                    skipWhitespace();
                    final char d = next();
                    if (d == ']') {
                        return;
                    }
                    if (d != ',') {
                        throw notJson();
                    }
                }
            case '"':
                skipString();
                return;
            case 't':
                expectLiteral("true");
                return;
            case 'f':
                expectLiteral("false");
                return;
            case 'n':
                expectLiteral("null");
                return;
            default:
                skipNumber();
        }
    }

    private String readName() throws SelectionException {
        final char[] chars = readString();
        // A field name is not secret: it is what the reference names.
        return new String(chars);
    }

    // Validates a JSON string at pos without copying it anywhere: it may be another secret value.
    private void skipString() throws SelectionException {
        scanString(null);
    }

    // Decodes a JSON string at pos into a new array of exactly its decoded length: two passes, no scratch.
    private char[] readString() throws SelectionException {
        final int start = pos;
        final int length = scanString(null);
        pos = start;
        final char[] out = new char[length];
        scanString(out);
        return out;
    }

    // Reads the JSON string at pos, writing its decoded characters to out when out is not null, and
    // returns how many there are. The decoded form is never longer than the encoded one.
    private int scanString(char[] out) throws SelectionException {
        expect('"');
        int n = 0;
        while (true) {
            final char c = next();
            if (c == '"') {
                return n;
            }
            if (c < 0x20) {
                throw notJson();
            }
            char decoded = c;
            if (c == '\\') {
                final char e = next();
                switch (e) {
                    case '"':
                    case '\\':
                    case '/':
                        decoded = e;
                        break;
                    case 'b':
                        decoded = '\b';
                        break;
                    case 'f':
                        decoded = '\f';
                        break;
                    case 'n':
                        decoded = '\n';
                        break;
                    case 'r':
                        decoded = '\r';
                        break;
                    case 't':
                        decoded = '\t';
                        break;
                    case 'u':
                        decoded = readHex4();
                        break;
                    default:
                        throw notJson();
                }
            }
            if (out != null) {
                out[n] = decoded;
            }
            n++;
        }
    }

    private char readHex4() throws SelectionException {
        int value = 0;
        for (int i = 0; i < 4; i++) {
            final int digit = Character.digit(next(), 16);
            if (digit < 0) {
                throw notJson();
            }
            value = (value << 4) | digit;
        }
        return (char) value;
    }

    // number = [ "-" ] int [ frac ] [ exp ]   (RFC 8259, section 6)
    private void skipNumber() throws SelectionException {
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else {
            skipDigits();
        }
        if (pos < text.length() && text.charAt(pos) == '.') {
            pos++;
            skipDigits();
        }
        if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            skipDigits();
        }
    }

    private void skipDigits() throws SelectionException {
        final int start = pos;
        while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
            pos++;
        }
        if (pos == start) {
            throw notJson();
        }
    }

    private void expectLiteral(String literal) throws SelectionException {
        for (int i = 0; i < literal.length(); i++) {
            expect(literal.charAt(i));
        }
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            final char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private void expect(char expected) throws SelectionException {
        if (next() != expected) {
            throw notJson();
        }
    }

    private char peek() throws SelectionException {
        if (pos >= text.length()) {
            throw notJson();
        }
        return text.charAt(pos);
    }

    private char next() throws SelectionException {
        final char c = peek();
        pos++;
        return c;
    }

    private static SelectionException notJson() {
        return new SelectionException(Failure.NOT_A_JSON_OBJECT);
    }
}
