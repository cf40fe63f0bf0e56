import type { FaultPlan } from '#local/stepfunctions/index.js';

type State = {
  Type: string;
  Next?: string;
  End?: boolean;
  Catch?: Array<{ Next: string }>;
  ItemProcessor?: Definition;
  Iterator?: Definition;
};
type Definition = { StartAt: string; States: Record<string, State> };

interface Edge {
  to: string;
  /** Taking this edge means `from` failed (a Catch). */
  caught: boolean;
}

/** Every state of a definition, Map item processors included, with its edges. */
function graph(def: Definition, into = new Map<string, { state: State; edges: Edge[] }>()) {
  for (const [name, state] of Object.entries(def.States)) {
    const edges: Edge[] = [];
    if (state.Next) edges.push({ to: state.Next, caught: false });
    for (const c of state.Catch ?? []) edges.push({ to: c.Next, caught: true });
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) {
      edges.push({ to: inner.StartAt, caught: false });
      graph(inner, into);
    }
    into.set(name, { state, edges });
  }
  return into;
}

/** The first Task state inside a Map, where a fault makes the whole Map fail. */
function innerTask(state: State): string | undefined {
  const inner = state.ItemProcessor ?? state.Iterator;
  if (!inner) return undefined;
  return Object.entries(inner.States).find(([, s]) => s.Type === 'Task')?.[0];
}

/**
 * For each Task state, the faults that make an execution reach it and then fail there: every Catch edge
 * on the path to it is forced by failing the state it leaves (a Map fails through its inner
 * task after one successful item, so some work exists to undo), and the state itself fails.
 */
export function faultPlansPerTask(definition: unknown): Array<{ state: string; plan: FaultPlan }> {
  const def = definition as Definition;
  const g = graph(def);
  // Depth first, normal transitions before catches: each compensation is reached from the latest step
  // that can fail into it, so the undo has the most work to undo.
  const previous = new Map<string, { from: string; edge: Edge }>();
  const seen = new Set([def.StartAt]);
  const visit = (name: string) => {
    const edges = [...(g.get(name)?.edges ?? [])].sort((a, b) => Number(a.caught) - Number(b.caught));
    for (const edge of edges.filter((e) => !e.caught)) {
      if (seen.has(edge.to)) continue;
      seen.add(edge.to);
      previous.set(edge.to, { from: name, edge });
      visit(edge.to);
    }
    for (const edge of edges.filter((e) => e.caught)) {
      if (seen.has(edge.to)) continue;
      seen.add(edge.to);
      previous.set(edge.to, { from: name, edge });
      visit(edge.to);
    }
  };
  visit(def.StartAt);
  const insideMaps = new Set(
    [...g.values()].flatMap(({ state }) =>
      Object.keys((state.ItemProcessor ?? state.Iterator)?.States ?? {}),
    ),
  );
  const plans: Array<{ state: string; plan: FaultPlan }> = [];
  for (const [name, { state }] of g) {
    if (state.Type !== 'Task') continue;
    // A task inside a Map fails after one item succeeded, so that there is partial work to undo.
    const plan: Record<string, { error: string; after?: number }> = {
      [name]: { error: 'BusinessError', after: insideMaps.has(name) ? 1 : 0 },
    };
    for (let at = name; previous.has(at); ) {
      const { from, edge } = previous.get(at) as { from: string; edge: Edge };
      if (edge.caught) {
        const failing = g.get(from)?.state;
        const inner = failing ? innerTask(failing) : undefined;
        if (inner) plan[inner] = { error: 'BusinessError', after: 1 };
        else plan[from] = { error: 'BusinessError' };
      }
      at = from;
    }
    plans.push({ state: name, plan });
  }
  return plans;
}
