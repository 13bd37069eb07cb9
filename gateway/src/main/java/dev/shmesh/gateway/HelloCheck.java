package dev.shmesh.gateway;

import dev.shmesh.api.control.ControlFrames;
import dev.shmesh.api.control.ProcessRole;
import dev.shmesh.api.control.v1.Envelope;
import dev.shmesh.api.control.v1.Hello;
import java.util.regex.Pattern;

/**
 * What the gateway checks in a peer's first frame before it compares the frame with any slot or token: it is a
 * Hello, of this protocol version, with a known role and a well-formed instance id. A pure function of the frame,
 * fuzzed by {@code HelloCheckFuzzTest}. A refusal is logged with the peer's pid and uid, so it quotes nothing the
 * peer chose but numbers and enum names: a peer cannot write newlines, terminal escapes or 64 KiB into the log —
 * and once this check passed, the instance id that later refusals quote is one of {@link #INSTANCE_ID}.
 */
final class HelloCheck {
    /** Instance ids: what the gateway names its workers (worker-1, compute-2, broker) and accepts from containers. */
    static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private HelloCheck() {}

    /** Null when {@code first} is a well-formed Hello, else why it is refused (printable ASCII, one line). */
    static String refusal(Envelope first) {
        if (!first.hasHello()) {
            return "first frame is " + first.getBodyCase() + ", not Hello";
        }
        Hello hello = first.getHello();
        if (hello.getProtocolVersion() != ControlFrames.PROTOCOL_VERSION) {
            return "protocol version " + Integer.toUnsignedString(hello.getProtocolVersion()) + ", gateway speaks "
                    + ControlFrames.PROTOCOL_VERSION;
        }
        if (ProcessRole.ofWire(hello.getRole()) == null) {
            return "unknown role " + hello.getRoleValue();
        }
        if (!INSTANCE_ID.matcher(hello.getInstanceId()).matches()) {
            return "instance id of " + hello.getInstanceId().length() + " chars does not match " + INSTANCE_ID.pattern();
        }
        return null;
    }
}
