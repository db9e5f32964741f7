// Nested descriptor structs as drivers and models use them: the VIRTIO
// split virtqueue, paths into structs and arrays typed by what they hold,
// structs placed at a base offset keeping the view's scope, and partial
// nested writes.
import { allocCoherent, arrayOf, defineDriver, defineStruct } from "boundscope";
import type { ArrayField, FieldPath, StructValue } from "boundscope";

const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u16", next: "u16" });
const Avail = defineStruct({ flags: "u16", idx: "u16", ring: arrayOf("u16", 256), used_event: "u16" });
const UsedElem = defineStruct({ id: "u32", len: "u32" });
const Used = defineStruct({ flags: "u16", idx: "u16", ring: arrayOf(UsedElem, 256), avail_event: "u16" });
const Hdr = defineStruct({ flags: "u8", len: "u16" });
const Pkt = defineStruct({ hdr: Hdr, addrs: arrayOf("u64", 2) });

export const virtq = defineDriver({
  name: "virtq",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    const queue = allocCoherent(dev, 16384);
    const view = queue.view(dev);
    Desc.write(view, 0, { addr: queue.dmaHandle, len: 64 });
    const avail = Avail.at(view, Desc.size * 256);
    Avail.set(avail, 0, "ring.0", 0);
    const slot: number = Avail.get(avail, 0, "ring.3");
    const used = Used.at(view, 8192);
    const elem: { id: number; len: number } = Used.get(used, 0, "ring.0");
    const len: number = Used.get(used, 0, "ring.255.len");
    const ring: { id: number; len: number }[] = Used.read(used, 0).ring;
    Used.write(used, 0, { idx: 1, ring: [{ id: 0, len: 60 }, undefined, { len: 2 }] });
    const pkt = Pkt.at(view, 4096);
    Pkt.set(pkt, 0, "addrs.1", queue.dmaHandle);
    Pkt.set(pkt, 0, "addrs", [queue.dmaHandle, 0x1000n]);
    Pkt.set(pkt, 0, "hdr", { len: 60 });
    const addr: bigint = Pkt.get(pkt, 0, "addrs.0");
    const whole: StructValue<{ hdr: typeof Hdr; addrs: ArrayField<"u64", 2> }> = Pkt.read(pkt, 0);
    const hdr: { flags: number; len: number } = whole.hdr;
    const path: FieldPath<{ hdr: typeof Hdr }> = "hdr.len";
    void [slot, elem, len, ring, addr, hdr, path];
    return { remove: (dev) => Avail.set(Avail.at(queue.view(dev), 4096), 0, "idx", 0) };
  },
});

// A device model's side: a plain DataView, any bigint.
export function modelSide(bytes: Uint8Array): void {
  const seen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  Pkt.write(seen, 0, { addrs: [0xdead_0000n], hdr: { flags: 1 } });
}
