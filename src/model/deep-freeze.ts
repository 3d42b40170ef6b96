// Deep-freezes compiled model objects, including Maps; RegExp objects are left alone so lastIndex stays writable.

function frozenMapMutator(): never {
  throw new TypeError('cannot modify a frozen Map');
}

/** Freezes `value` and everything reachable from it (plain objects, arrays, Maps, Sets), in place. */
export function deepFreeze<T>(value: T): T {
  freezeInto(value, new Set());
  return value;
}

function freezeInto(value: unknown, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof RegExp) return;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      freezeInto(k, seen);
      freezeInto(v, seen);
    }
    Object.defineProperties(value, {
      set: { value: frozenMapMutator },
      delete: { value: frozenMapMutator },
      clear: { value: frozenMapMutator },
    });
  } else if (value instanceof Set) {
    for (const v of value) freezeInto(v, seen);
    Object.defineProperties(value, {
      add: { value: frozenMapMutator },
      delete: { value: frozenMapMutator },
      clear: { value: frozenMapMutator },
    });
  } else {
    for (const key of Reflect.ownKeys(value)) {
      freezeInto((value as Record<PropertyKey, unknown>)[key], seen);
    }
  }
  Object.freeze(value);
}
