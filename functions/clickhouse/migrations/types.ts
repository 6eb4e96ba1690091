/** A versioned schema change, written once per server variant. */
export interface Migration {
  /** Applied in ascending order; never renumbered once released. */
  version: number;
  name: string;
  /** Statements for a current ClickHouse (22.x and later). */
  modern: string[];
  /** Statements for ClickHouse 18.x–21.x (no DateTime64, Map or TTL). */
  legacy: string[];
}
