package dev.shmesh.broker.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every offset as a number: a layout change must be a deliberate, visible diff here (and a version bump). */
@Timeout(10)
class DescriptorGoldenTest {

    @Test
    void segmentHeader() {
        assertEquals(0, SegmentHeaderDescriptor.MAGIC_OFFSET);
        assertEquals(8, SegmentHeaderDescriptor.VERSION_OFFSET);
        assertEquals(12, SegmentHeaderDescriptor.LAYOUT_KIND_OFFSET);
        assertEquals(16, SegmentHeaderDescriptor.CREATOR_PID_OFFSET);
        assertEquals(24, SegmentHeaderDescriptor.CREATOR_START_TIME_OFFSET);
        assertEquals(32, SegmentHeaderDescriptor.TOTAL_LENGTH_OFFSET);
        assertEquals(128, SegmentHeaderDescriptor.LENGTH);
        assertEquals(0x0002_0000, SegmentHeaderDescriptor.VERSION);
        assertEquals(1, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING);
        assertEquals(2, SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING);
        assertEquals(3, SegmentHeaderDescriptor.KIND_COUNTERS);
        byte[] magic = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(SegmentHeaderDescriptor.MAGIC)
                .array();
        assertArrayEquals("SHMESHSG".getBytes(StandardCharsets.US_ASCII), magic);
    }

    @Test
    void ringControlBlock() {
        assertEquals(128, RingDescriptor.SLOT_LENGTH);
        assertEquals(0, RingDescriptor.CAPACITY_OFFSET);
        assertEquals(4, RingDescriptor.MAX_PAYLOAD_LENGTH_OFFSET);
        assertEquals(8, RingDescriptor.SLOT_LENGTH_OFFSET);
        assertEquals(12, RingDescriptor.STATE_OFFSET);
        assertEquals(16, RingDescriptor.FENCE_REASON_OFFSET);
        assertEquals(24, RingDescriptor.FENCE_POSITION_OFFSET);
        assertEquals(32, RingDescriptor.FENCE_PID_OFFSET);
        assertEquals(128, RingDescriptor.TAIL_OFFSET);
        assertEquals(256, RingDescriptor.HEAD_CACHE_OFFSET);
        assertEquals(384, RingDescriptor.HEAD_OFFSET);
        assertEquals(512, RingDescriptor.SLEEPERS_OFFSET);
        assertEquals(640, RingDescriptor.FUTEX_OFFSET);
        assertEquals(768, RingDescriptor.DATA_OFFSET);
        assertEquals(768 + 4096, RingDescriptor.regionLength(4096));
        assertEquals(0, RingDescriptor.STATE_ACTIVE);
        assertEquals(1, RingDescriptor.STATE_CLOSED);
        assertEquals(2, RingDescriptor.STATE_FENCED);
    }

    @Test
    void mpscRecord() {
        assertEquals(0, RecordDescriptor.LENGTH_OFFSET);
        assertEquals(4, RecordDescriptor.TYPE_OFFSET);
        assertEquals(8, RecordDescriptor.HEADER_LENGTH);
        assertEquals(8, RecordDescriptor.ALIGNMENT);
        assertEquals(-1, RecordDescriptor.PADDING_TYPE);
        assertEquals(16, RecordDescriptor.align(9));
        assertEquals(16, RecordDescriptor.align(16));
        assertEquals(504, RecordDescriptor.maxPayloadLength(4096));
        assertEquals(0x0000_0007_FFFF_FFF0L, RecordDescriptor.header(-16, 7));
        assertEquals(-16, RecordDescriptor.length(0x0000_0007_FFFF_FFF0L));
        assertEquals(7, RecordDescriptor.type(0x0000_0007_FFFF_FFF0L));
        assertEquals(-1, RecordDescriptor.type(RecordDescriptor.header(8, RecordDescriptor.PADDING_TYPE)));
    }

    @Test
    void mpmcSlot() {
        assertEquals(0, SlotDescriptor.SEQUENCE_OFFSET);
        assertEquals(8, SlotDescriptor.LENGTH_OFFSET);
        assertEquals(12, SlotDescriptor.TYPE_OFFSET);
        assertEquals(16, SlotDescriptor.HEADER_LENGTH);
        assertEquals(80, SlotDescriptor.slotLength(64));
        assertEquals(24, SlotDescriptor.slotLength(1));
    }

    @Test
    void mpmcMemberTable() {
        assertEquals(64, MemberTableDescriptor.RECORDS);
        assertEquals(128, MemberTableDescriptor.RECORD_LENGTH);
        assertEquals(0, MemberTableDescriptor.MEMBER_OFFSET);
        assertEquals(8, MemberTableDescriptor.CLAIM_OFFSET);
        assertEquals(16, MemberTableDescriptor.ROLE_OFFSET);
        assertEquals(1, MemberTableDescriptor.ROLE_CONSUMER);
        assertEquals(2, MemberTableDescriptor.ROLE_PRODUCER);
        assertEquals(8192, MemberTableDescriptor.LENGTH);
        assertEquals(1152, MemberTableDescriptor.tableOffset(4 * 80)); // 768 + 320 = 1088, rounded up to 128
        assertEquals(768 + 1024 + 128, MemberTableDescriptor.recordOffset(1024, 1));
        assertEquals(896, MemberTableDescriptor.tableOffset(24)); // 792 rounded up to 128
    }

    @Test
    void counters() {
        assertEquals(0, CountersDescriptor.MAX_RECORDS_OFFSET);
        assertEquals(4, CountersDescriptor.NEXT_FREE_OFFSET);
        assertEquals(128, CountersDescriptor.RECORDS_OFFSET);
        assertEquals(256, CountersDescriptor.RECORD_LENGTH);
        assertEquals(0, CountersDescriptor.STATE_OFFSET);
        assertEquals(4, CountersDescriptor.LABEL_LENGTH_OFFSET);
        assertEquals(8, CountersDescriptor.LABEL_OFFSET);
        assertEquals(64, CountersDescriptor.DEQUEUED_OFFSET);
        assertEquals(72, CountersDescriptor.DEPTH_OFFSET);
        assertEquals(80, CountersDescriptor.CONSUMER_LAG_OFFSET);
        assertEquals(88, CountersDescriptor.REDELIVERED_OFFSET);
        assertEquals(96, CountersDescriptor.LEASES_EXPIRED_OFFSET);
        assertEquals(128, CountersDescriptor.ENQUEUED_OFFSET);
        assertEquals(136, CountersDescriptor.BACK_PRESSURE_OFFSET);
        assertEquals(128 + 3 * 256, CountersDescriptor.recordOffset(3));
        assertArrayEquals(new int[] {128, 64, 88, 136, 72, 80, 96}, CountersDescriptor.COUNTER_OFFSETS);
    }

    @Test
    void leaseTable() {
        assertEquals(0, LeaseTableDescriptor.SLOTS_OFFSET);
        assertEquals(4, LeaseTableDescriptor.MAX_PAYLOAD_LENGTH_OFFSET);
        assertEquals(8, LeaseTableDescriptor.SLOT_LENGTH_OFFSET);
        assertEquals(16, LeaseTableDescriptor.GENERATION_OFFSET);
        assertEquals(128, LeaseTableDescriptor.SLOTS_START);
        assertEquals(0, LeaseTableDescriptor.OWNER_STATE_OFFSET);
        assertEquals(8, LeaseTableDescriptor.OWNER_START_TIME_OFFSET);
        assertEquals(16, LeaseTableDescriptor.DEADLINE_OFFSET);
        assertEquals(24, LeaseTableDescriptor.REQUEST_ID_OFFSET);
        assertEquals(32, LeaseTableDescriptor.TYPE_OFFSET);
        assertEquals(36, LeaseTableDescriptor.LENGTH_OFFSET);
        assertEquals(48, LeaseTableDescriptor.PAYLOAD_OFFSET);
        assertEquals(128, LeaseTableDescriptor.slotLength(80));
        assertEquals(64, LeaseTableDescriptor.slotLength(16));
        assertEquals(128 + 4 * 128, LeaseTableDescriptor.regionLength(4, 80));
        assertEquals(0x0000_1234_0000_0002L, LeaseTableDescriptor.ownerState(0x1234, LeaseTableDescriptor.LEASED));
        assertEquals(4, SegmentHeaderDescriptor.KIND_LEASES);
    }
}
