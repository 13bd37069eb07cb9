package dev.shmesh.mesh;

import java.nio.file.Path;

/**
 * A mesh file that shmesh refuses: a YAML syntax error, an unknown key, a value of the wrong type or out of range, a
 * broken cross-reference. It points at the offending node, and its message reads like a compiler's:
 *
 * <pre>
 * shmesh.yaml:12:5: services[1].exposure: 'publik' is not one of: public, internal
 *   hint: ...
 * </pre>
 *
 * Only the first error of a file is reported.
 */
public final class MeshFileException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient Path source;
    private final int line;
    private final int column;
    private final String keyPath;
    private final String problem;
    private final String hint;

    /**
     * @param source the mesh file, or null when it was not read from a file
     * @param line 1-based, or 0 when not applicable
     * @param column 1-based, or 0 when not applicable
     * @param keyPath where in the document, e.g. {@code services[1].exposure}; empty for the whole file
     * @param problem what is wrong, without location
     * @param hint what to do about it; empty when the problem says it all
     */
    public MeshFileException(Path source, int line, int column, String keyPath, String problem, String hint) {
        super(format(source, line, column, keyPath, problem, hint));
        this.source = source;
        this.line = line;
        this.column = column;
        this.keyPath = keyPath;
        this.problem = problem;
        this.hint = hint;
    }

    private static String format(Path source, int line, int column, String keyPath, String problem, String hint) {
        StringBuilder sb = new StringBuilder(source == null ? "shmesh.yaml" : source.toString());
        if (line > 0) {
            sb.append(':').append(line);
            if (column > 0) {
                sb.append(':').append(column);
            }
        }
        sb.append(": ");
        if (!keyPath.isEmpty()) {
            sb.append(keyPath).append(": ");
        }
        sb.append(problem);
        if (!hint.isEmpty()) {
            sb.append("\n  hint: ").append(hint);
        }
        return sb.toString();
    }

    /** The mesh file as it was named to the parser, or null when the text did not come from a file. */
    public Path source() {
        return source;
    }

    /** The 1-based line of the offending node, or 0 when not applicable (e.g. the file is too large). */
    public int line() {
        return line;
    }

    /** The 1-based column (in code points) of the offending node, or 0 when not applicable. */
    public int column() {
        return column;
    }

    /** Where in the document, e.g. {@code services[1].exposure} (indices 0-based); empty for the whole file. */
    public String keyPath() {
        return keyPath;
    }

    /** What is wrong, without location or hint. */
    public String problem() {
        return problem;
    }

    /** What to do about it; empty when there is nothing to add. */
    public String hint() {
        return hint;
    }
}
