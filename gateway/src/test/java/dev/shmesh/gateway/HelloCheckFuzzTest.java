package dev.shmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shmesh.api.control.ControlFrames;
import dev.shmesh.api.control.v1.Envelope;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/**
 * The first frame on the control socket as an unauthenticated peer sends it, through everything the gateway does
 * with it that needs no slot, token or process: {@link ControlFrames#read}, then {@link HelloCheck#refusal}. A
 * frame it passes is a Hello of this version with a known role and a well-formed id; a refusal is one line of
 * printable ASCII of bounded length — it goes into the gateway's log next to the peer's pid.
 *
 * <p>Inputs: {@code HelloCheckFuzzTestInputs/firstFrame/}, written by {@code HelloSeedsTest}.
 */
class HelloCheckFuzzTest {
    static final int MAX_REFUSAL_LENGTH = 160;

    @FuzzTest
    void firstFrame(byte[] stream) {
        Envelope first;
        try {
            first = ControlFrames.read(new ByteArrayInputStream(stream));
        } catch (IOException refused) {
            assertNotNull(refused.getMessage());
            return;
        }
        if (first == null) {
            return;
        }
        String refusal = HelloCheck.refusal(first);
        if (refusal == null) {
            assertTrue(first.hasHello());
            assertEquals(ControlFrames.PROTOCOL_VERSION, first.getHello().getProtocolVersion());
            assertNotNull(dev.shmesh.api.control.ProcessRole.ofWire(first.getHello().getRole()));
            assertTrue(HelloCheck.INSTANCE_ID.matcher(first.getHello().getInstanceId()).matches());
            return;
        }
        assertTrue(refusal.length() <= MAX_REFUSAL_LENGTH, "a refusal of " + refusal.length() + " chars");
        for (int i = 0; i < refusal.length(); i++) {
            char c = refusal.charAt(i);
            assertTrue(c >= 0x20 && c < 0x7F, "a refusal with char " + (int) c + " at " + i + ": the peer writes into"
                    + " the gateway's log");
        }
    }
}
