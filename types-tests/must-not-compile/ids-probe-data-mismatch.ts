// Blocks: a probe that expects driver data its id table does not give (a
// table without data, or data of another type), and ids that carry data
// defineDriver's probe cannot receive. The probe's id parameter is the
// table's MatchedId<Data>, checked against what the probe declares.
import { defineDriver, deviceTable } from "boundscope";
import type { MatchedId } from "boundscope";

interface Info {
  readonly queues: number;
}

export const noData = defineDriver({
  name: "no-data",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<Info>\) => \{\}' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- defineDriver gives no data
  probe(dev, id: MatchedId<Info>) {
    void dev;
    void id;
    return {};
  },
});

export const tableWithout = deviceTable([{ vendor: 1, device: 1 }]).defineDriver({
  name: "table-without",
  // @expect-error TS2322 /Type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<Info>\) => \{\}' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a table without data
  probe(dev, id: MatchedId<Info>) {
    void dev;
    void id;
    return {};
  },
});

export const otherType = deviceTable([{ vendor: 1, device: 1, data: { queues: "4" } }]).defineDriver({
  name: "other-type",
  // @expect-error TS2322 /Type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<Info>\) => \{\}' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<\{ readonly queues: "4"; \}>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- data of another type
  probe(dev, id: MatchedId<Info>) {
    void dev;
    void id;
    return {};
  },
});

export const readsMissing = deviceTable([{ vendor: 1, device: 1 }]).defineDriver({
  name: "reads-missing",
  probe(dev, id) {
    void dev;
    // @expect-error TS18048 /'id.data' is possibly 'undefined'|Object is possibly 'undefined'/ -- reading data the table does not give
    const queues: number = id.data.queues;
    return { remove: () => void queues };
  },
});
