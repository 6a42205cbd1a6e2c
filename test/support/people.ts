/** The IDmeta simulator's registry people, found by what their `scenario` says they are for. */
import { loadRegistry, type SimPerson } from '../../local/idmeta-simulator/registry.ts';

const people = loadRegistry().people;

/** The first person whose scenario mentions `scenario`; throws if the registry lost them. */
export function personWith(scenario: string): SimPerson {
  const found = people.find((candidate) => candidate.scenario?.includes(scenario));
  if (found === undefined) throw new Error(`no registry person for "${scenario}"`);
  return found;
}
