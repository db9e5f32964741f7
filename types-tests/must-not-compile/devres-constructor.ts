// Blocks: making a Devres with `new`, which would skip Devres.new and so the
// token that ties it to a live binding.
import { Devres } from "boundscope";

// @expect-error TS2673 /Constructor of class 'Devres<Scope, Value>' is private/ -- new Devres(...)
const res = new Devres(undefined as never, 1, undefined);
void res;

// @expect-error TS2675 /Cannot extend a class '.*Devres'\. Class constructor is marked as private/ -- a subclass would be no better
class Sneaky<Scope, Value> extends Devres<Scope, Value> {}
void Sneaky;
