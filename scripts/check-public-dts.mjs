// `node scripts/check-public-dts.mjs [--update] [--entry FILE] [--snapshot FILE]`: the published .d.ts holds
// only the public API. Loads dist/index.d.ts (run after the build) with the
// TypeScript 6 compiler API, walks every export of the package entry, and
// renders its public surface, one sorted line per export and per member:
//
//   Export: <kind and signature>
//   Export.member: <modifiers> <kind>: <type>   (inherited members included)
//
// and compares it with api/public-surface.txt: any difference fails with a
// diff, so a new public member is added to the snapshot deliberately
// (`--update` rewrites it, to be reviewed in the diff). Independently of the
// snapshot, it fails on members that are internal:
//   (a) a member whose JSDoc has @internal;
//   (b) a member named on DENY below (names the core uses and users must not);
//   (c) a member, or an exported function or constant, whose type names a
//       class declared in the package but not exported from the entry.
//
// test/public-dts.test.ts runs checkPublicDts() on a tiny package that breaks
// (a) and (b), to prove they can fail.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript6";
import { parseCommandLine } from "./lib/args.mjs";
import { root } from "./lib/paths.mjs";

/**
 * Member names that are internal to boundscope's core, checked on every
 * export (or only on the exports listed): each is how the core drives a
 * public object, and none may reach a user's types.
 */
export const DENY = [
  // DeviceModel: the bus connects and disconnects a model and calls its hooks.
  { name: "attach", why: "the bus connects a device model to its device" },
  { name: "detach", why: "the bus disconnects a device model at unplug" },
  { name: "notify", why: "the core calls a device model's hooks through it" },
  // DmaDebug: the core reports violations and keeps freed mappings; users read `violations`.
  { name: "report", why: "the core reports DMA violations; users read `violations`" },
  { name: "remember", why: "the core records each freed mapping" },
  { name: "freedAt", why: "the core looks up a freed mapping for a violation's sites" },
  // MachineEvent.violation is the public field naming a violation event's kind; the
  // old core method of that name lived on the hardware and the checker.
  { name: "violation", exports: ["DmaDebug", "Machine", "Bus"], why: "the core's way to raise a DMA violation (users read `violations`)" },
  // The checker's input: facts reach it from the machine, never from users.
  { name: "check", exports: ["DmaDebug"], why: "the machine hands the checker its facts" },
  { name: "connectModel", why: "the machine connects a device model to its device" },
  // The coherent pool: its read-only face (Memory) is public, allocation is the core's.
  // Nothing public is named allocate; Devres has a public release(), so that
  // name is internal on the memory face only.
  { name: "allocate", why: "the core allocates from the pool; users call allocCoherent()" },
  { name: "release", exports: ["Memory"], why: "the core returns pages to the pool; users call freeCoherent()" },
  { name: "blockAt", why: "the device-side DMA path looks up the pool's block at an address" },
  // The per-machine hardware: errors raised by device models on the clock.
  { name: "deviceError", why: "the hardware collects a device model's clock-event error" },
  { name: "takeDeviceErrors", why: "the machine and the core take the collected device errors" },
];

const format =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope |
  ts.TypeFormatFlags.WriteArrowStyleSignature;

/** The public surface of the package whose entry is `entry` (a .d.ts), and what in it is internal. */
export function checkPublicDts(entry, { deny = DENY } = {}) {
  entry = resolve(entry);
  const packageDir = dirname(entry) + sep;
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2022.d.ts", "lib.esnext.disposable.d.ts"],
    types: [],
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const problems = [];
  const lines = [];

  // A .d.ts that does not type-check renders unresolved types as `any`.
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const where = d.file ? `${relative(root, d.file.fileName)}: ` : "";
    problems.push(`${where}error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  }
  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`${entry}: not found`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${entry}: not a module`);

  const inPackage = (decl) => decl.getSourceFile().fileName.startsWith(packageDir);
  const exported = checker.getExportsOfModule(moduleSymbol).map((symbol) => ({ name: symbol.name, symbol, target: resolveAlias(symbol) }));
  const exportedTargets = new Set(exported.map((e) => e.target));

  function resolveAlias(symbol) {
    return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  }
  function typeOnlyExport(symbol) {
    const decl = symbol.declarations?.[0];
    return decl !== undefined && ts.isExportSpecifier(decl) && (decl.isTypeOnly || decl.parent.parent.isTypeOnly);
  }
  const show = (type, at) => checker.typeToString(type, at, format);

  /** Classes declared in the package but not exported from the entry, named by `type`. */
  function internalClasses(type, seen = new Set()) {
    if (seen.has(type)) return [];
    seen.add(type);
    const found = [];
    const symbol = type.aliasSymbol ?? type.getSymbol();
    if (symbol && symbol.flags & ts.SymbolFlags.Class && symbol.declarations?.some(inPackage) && !exportedTargets.has(symbol)) {
      found.push(symbol.name);
    }
    const parts = [
      ...(type.isUnionOrIntersection() ? type.types : []),
      ...(type.aliasTypeArguments ?? []),
      ...(type.flags & ts.TypeFlags.Object && type.objectFlags & ts.ObjectFlags.Reference ? checker.getTypeArguments(type) : []),
    ];
    // Function types: their parameters and results (a method, a callback, a constructor).
    for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
      for (const parameter of signature.getParameters()) parts.push(checker.getTypeOfSymbol(parameter));
      parts.push(signature.getReturnType());
    }
    // An anonymous object type (an inline `{ ... }`): its properties.
    if (type.flags & ts.TypeFlags.Object && type.objectFlags & ts.ObjectFlags.Anonymous && !type.getCallSignatures().length) {
      for (const property of type.getProperties()) parts.push(checker.getTypeOfSymbol(property));
    }
    for (const part of parts) found.push(...internalClasses(part, seen));
    return [...new Set(found)];
  }

  function jsdocInternal(symbol) {
    return (symbol.declarations ?? []).some((decl) => ts.getJSDocTags(decl).some((tag) => tag.tagName.text === "internal"));
  }

  /** Checks one member (or export) line for (a), (b) and (c). */
  function audit(exportName, memberName, symbol, type) {
    const label = memberName === undefined ? exportName : `${exportName}.${memberName}`;
    if (jsdocInternal(symbol)) problems.push(`${label}: its JSDoc says @internal`);
    if (memberName !== undefined) {
      const hit = deny.find((d) => d.name === memberName && (d.exports === undefined || d.exports.includes(exportName)));
      if (hit) problems.push(`${label}: "${memberName}" is on the deny list of internals (${hit.why})`);
    }
    for (const name of internalClasses(type)) {
      problems.push(`${label}: its type names ${name}, a class the package entry does not export`);
    }
  }

  function modifiers(decl) {
    const flags = ts.getCombinedModifierFlags(decl);
    return [
      flags & ts.ModifierFlags.Protected ? "protected" : "",
      flags & ts.ModifierFlags.Static ? "static" : "",
      flags & ts.ModifierFlags.Abstract ? "abstract" : "",
      flags & ts.ModifierFlags.Readonly ? "readonly" : "",
    ].filter(Boolean);
  }

  /** One member of an export, as a surface line; private and #private members are not public. */
  function member(exportName, symbol, isStatic) {
    const decls = symbol.declarations ?? [];
    // Members inherited from outside the package (Error's `message`, ...) are the platform's, not ours.
    if (decls.length > 0 && !decls.some(inPackage)) return;
    if (symbol.escapedName.startsWith("__#") || decls.some((d) => d.name && ts.isPrivateIdentifier(d.name))) return;
    if (decls.some((d) => ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Private)) return;
    const decl = decls[0];
    const type = checker.getTypeOfSymbol(symbol);
    let kind = "property";
    if (decls.some((d) => ts.isMethodDeclaration(d) || ts.isMethodSignature(d))) kind = "method";
    else if (decls.some((d) => ts.isGetAccessor(d) || ts.isSetAccessor(d))) {
      kind = [decls.some(ts.isGetAccessor) ? "get" : "", decls.some(ts.isSetAccessor) ? "set" : ""].filter(Boolean).join(" ");
    }
    const name = `${isStatic ? "static " : ""}${memberName(symbol)}${symbol.flags & ts.SymbolFlags.Optional ? "?" : ""}`;
    const words = [...(decl ? modifiers(decl).filter((m) => m !== "static") : []), kind];
    lines.push(`${exportName}.${name}: ${words.join(" ")}: ${show(type, decl)}`);
    audit(exportName, memberName(symbol), symbol, type);
  }

  /** A member's name as written: `[Symbol.dispose]` and `[tokenBrand]` for symbol-keyed ones. */
  function memberName(symbol) {
    const name = symbol.declarations?.map((d) => ts.getNameOfDeclaration(d)).find((n) => n !== undefined);
    return name && ts.isComputedPropertyName(name) ? `[${name.expression.getText()}]` : symbol.name;
  }

  function indexSignatures(exportName, type) {
    for (const info of checker.getIndexInfosOfType(type)) {
      if (info.declaration && !inPackage(info.declaration)) continue;
      const readonly = info.isReadonly ? "readonly " : "";
      lines.push(`${exportName}.[key: ${show(info.keyType)}]: ${readonly}index: ${show(info.type, info.declaration)}`);
      audit(exportName, undefined, { declarations: info.declaration ? [info.declaration] : [] }, info.type);
    }
  }

  for (const { name, symbol, target } of exported) {
    const decl = target.declarations?.[0];
    const typeOnly = typeOnlyExport(symbol);
    // Only a class's reach changes with `export type`: no constructor, no statics.
    const only = typeOnly ? " (type-only export)" : "";
    if (target.flags & ts.SymbolFlags.Class) {
      const instance = checker.getDeclaredTypeOfSymbol(target);
      const bases = instance.isClassOrInterface() ? checker.getBaseTypes(instance).map((b) => show(b)) : [];
      lines.push(`${name}: class ${show(instance)}${bases.length ? ` extends ${bases.join(", ")}` : ""}${only}`);
      audit(name, undefined, target, instance);
      for (const property of checker.getPropertiesOfType(instance)) member(name, property, false);
      indexSignatures(name, instance);
      // A type-only export cannot be constructed, nor its statics reached: `typeof` it is an error.
      if (!typeOnly) {
        const statics = checker.getTypeOfSymbol(target);
        for (const signature of statics.getConstructSignatures()) {
          const at = signature.getDeclaration();
          if (at && (!inPackage(at) || ts.getCombinedModifierFlags(at) & ts.ModifierFlags.Private)) continue;
          lines.push(`${name}.constructor: ${modifiers(at ?? decl).join(" ") || "public"}: ${checker.signatureToString(signature, at, format, ts.SignatureKind.Construct)}`);
          audit(name, "constructor", { declarations: at ? [at] : [] }, statics);
        }
        for (const property of checker.getPropertiesOfType(statics)) {
          if (property.name !== "prototype") member(name, property, true);
        }
      }
    } else if (target.flags & ts.SymbolFlags.Interface) {
      const type = checker.getDeclaredTypeOfSymbol(target);
      const bases = type.isClassOrInterface() ? checker.getBaseTypes(type).map((b) => show(b)) : [];
      lines.push(`${name}: interface ${show(type)}${bases.length ? ` extends ${bases.join(", ")}` : ""}`);
      audit(name, undefined, target, type);
      for (const property of checker.getPropertiesOfType(type)) member(name, property, false);
      indexSignatures(name, type);
      for (const signature of type.getCallSignatures()) lines.push(`${name}.(): call: ${checker.signatureToString(signature, decl, format)}`);
      for (const signature of type.getConstructSignatures()) lines.push(`${name}.new(): construct: ${checker.signatureToString(signature, decl, format, ts.SignatureKind.Construct)}`);
    } else if (target.flags & ts.SymbolFlags.TypeAlias) {
      const type = checker.getDeclaredTypeOfSymbol(target);
      const params = decl && ts.isTypeAliasDeclaration(decl) && decl.typeParameters ? `<${decl.typeParameters.map((p) => p.getText()).join(", ")}>` : "";
      // An object literal type is listed member by member below; its line says only that it is one.
      const body =
        decl && ts.isTypeAliasDeclaration(decl) ? (ts.isTypeLiteralNode(decl.type) ? "{ … }" : decl.type.getText().replace(/\s+/g, " ")) : show(type);
      lines.push(`${name}: type${params} = ${body}`);
      audit(name, undefined, target, type);
      // The members of an object type (an intersection, a mapped type): the properties a value has.
      if (type.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection) && !type.getCallSignatures().length) {
        for (const property of checker.getPropertiesOfType(type)) member(name, property, false);
        indexSignatures(name, type);
      }
    } else if (target.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable | ts.SymbolFlags.Enum)) {
      const type = checker.getTypeOfSymbol(target);
      const kind = target.flags & ts.SymbolFlags.Function ? "function" : target.flags & ts.SymbolFlags.Enum ? "enum" : "const";
      lines.push(`${name}: ${kind}: ${show(type, decl)}`);
      audit(name, undefined, target, type);
    } else {
      lines.push(`${name}: ${ts.SymbolFlags[target.flags] ?? target.flags}`);
    }
  }

  lines.sort();
  return { lines, problems: [...new Set(problems)].sort() };
}

/** Lines only in `expected` (-) and only in `actual` (+). Both are sorted sets of lines. */
export function diffLines(expected, actual) {
  const before = new Set(expected);
  const after = new Set(actual);
  return [...expected.filter((l) => !after.has(l)).map((l) => `- ${l}`), ...actual.filter((l) => !before.has(l)).map((l) => `+ ${l}`)];
}

/** The snapshot's header, naming the entry it is of. */
function header(entry) {
  return [
    `# The public surface of ${entry}: one line per export and per member.`,
    "# Checked by scripts/check-public-dts.mjs in `npm test`; rewrite with",
    "# `node scripts/check-public-dts.mjs --update` after a deliberate API change, and review the diff.",
  ];
}

export function readSnapshot(file) {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"));
}

export function writeSnapshot(file, lines, entry = "dist/index.d.ts") {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, [...header(entry), ...lines, ""].join("\n"));
}

/** The package's entries and their snapshots: `boundscope` and `boundscope/testing`. */
const ENTRIES = [
  { entry: "dist/index.d.ts", snapshot: "api/public-surface.txt" },
  { entry: "dist/testing/index.d.ts", snapshot: "api/public-surface-testing.txt" },
];

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const usage =
    "usage: node scripts/check-public-dts.mjs [--update] [--entry dist/index.d.ts --snapshot api/public-surface.txt]\n\n" +
    "Without --entry and --snapshot: both entries, dist/index.d.ts and dist/testing/index.d.ts, with their snapshots.\n" +
    "Checks the public surface of the built .d.ts against the snapshot, and that no internal member is in it.\n" +
    "--update rewrites the snapshot (internal members still fail the check).";
  const { values } = parseCommandLine({
    usage,
    options: {
      update: { type: "boolean", default: false },
      // Neither given: both entries (boundscope and boundscope/testing), each with its snapshot.
      entry: { type: "string" },
      snapshot: { type: "string" },
    },
  });
  const pairs = values.entry === undefined && values.snapshot === undefined ? ENTRIES.map((e) => ({ entry: resolve(root, e.entry), snapshot: resolve(root, e.snapshot) })) : [{ entry: resolve(values.entry ?? "dist/index.d.ts"), snapshot: resolve(values.snapshot ?? "api/public-surface.txt") }];
  let failed = false;
  for (const pair of pairs) failed = checkOne(pair.entry, pair.snapshot, values.update) || failed;
  process.exit(failed ? 1 : 0);
}

/** Checks (or, with `update`, rewrites) one entry's snapshot; true if it failed. */
function checkOne(entryFile, snapshotFile, update) {
  const values = { entry: entryFile, snapshot: snapshotFile, update };
  const entryName = relative(root, entryFile) || entryFile;
  const { lines, problems } = checkPublicDts(values.entry);
  const snapshot = relative(root, values.snapshot) || values.snapshot;
  let differs = false;
  if (values.update) {
    writeSnapshot(values.snapshot, lines, entryName);
    console.log(`${snapshot}: written, ${lines.length} lines`);
  } else {
    let expected;
    try {
      expected = readSnapshot(values.snapshot);
    } catch {
      expected = undefined;
    }
    if (expected === undefined) {
      differs = true;
      console.log(`${snapshot}: missing; write it with --update and review it`);
    } else {
      const diff = diffLines(expected, lines);
      if (diff.length > 0) {
        differs = true;
        console.log(`the public surface differs from ${snapshot} (- snapshot, + ${entryName}):`);
        for (const line of diff) console.log(`  ${line}`);
        console.log(`a deliberate change: node scripts/check-public-dts.mjs --update, and review the diff`);
      }
    }
  }
  if (problems.length > 0) {
    console.log(`internal members in the published .d.ts:`);
    for (const problem of problems) console.log(`  ${problem}`);
  }
  console.log(
    `${entryName}: ${lines.length} lines of surface, ` +
      `${differs ? "differs from the snapshot" : "matches the snapshot"}, ${problems.length} internal member(s)`,
  );
  return differs || problems.length > 0;
}
