// The part of debug 4 used here (its own types are a separate package).
declare module "debug" {
  const debug: {
    /** Turns on the namespaces listed (`*` and `-name` exclusions allowed); replaces the current set. */
    enable(namespaces: string): void;
    /** Turns every namespace off; returns the set that was on. */
    disable(): string;
  };
  export default debug;
}
