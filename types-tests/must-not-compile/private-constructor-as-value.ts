// Blocks: reaching Devres's private constructor through its value, to make a
// Devres for no binding: the class assigned to a public constructor type,
// ConstructorParameters of it, and `new` through a subclass. (`new` itself
// and `extends Devres` are in devres-constructor.ts.)
import { Devres } from "boundscope";

// @expect-error TS2322 /Cannot assign a 'private' constructor type to a 'public' constructor type|Type 'typeof Devres' is not assignable to type 'new \(binding: unknown, value: number\) => Devres<"x", number>'/ -- the class as a public constructor type
const Make: new (binding: unknown, value: number) => Devres<"x", number> = Devres;
// @expect-error TS2344 /Type 'typeof Devres' does not satisfy the constraint 'abstract new \(\.\.\.args: any\) => any'/ -- ConstructorParameters of a private constructor
type Args = ConstructorParameters<typeof Devres>;
// @expect-error TS2344 /Type 'typeof Devres' does not satisfy the constraint 'abstract new \(\.\.\.args: any\) => any'/ -- InstanceType of a private constructor
type Instance = InstanceType<typeof Devres>;

void Make;
export type { Args, Instance };
