// Deep-freezes compiled model objects, including Maps; RegExp objects are left alone so lastIndex stays writable.

function frozenMapMutator(): never {
  throw new TypeError('cannot modify a frozen Map');
}

/** Freezes `value` and everything reachable from it (plain objects, arrays, Maps, Sets), in place. */
export function deepFreeze<T>(value: T): T {
  freezeInto(value);
  return value;
}

/**
 * Each object is frozen before its children are visited, so "already frozen" is the visited mark: shared parts
 * and cycles are walked once and no bookkeeping set is needed (it matters for 10,000-route configs).
 */
function freezeInto(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || value instanceof RegExp) return;
  if (value instanceof Map) {
    Object.defineProperties(value, {
      set: { value: frozenMapMutator },
      delete: { value: frozenMapMutator },
      clear: { value: frozenMapMutator },
    });
    Object.freeze(value);
    for (const [k, v] of value) {
      freezeInto(k);
      freezeInto(v);
    }
  } else if (value instanceof Set) {
    Object.defineProperties(value, {
      add: { value: frozenMapMutator },
      delete: { value: frozenMapMutator },
      clear: { value: frozenMapMutator },
    });
    Object.freeze(value);
    for (const v of value) freezeInto(v);
  } else if (Array.isArray(value)) {
    Object.freeze(value);
    for (let i = 0; i < value.length; i++) freezeInto(value[i]);
  } else {
    Object.freeze(value);
    for (const key in value) freezeInto((value as Record<string, unknown>)[key]);
  }
}
