export { SearchRequestError } from "./errors.js";
export {
  FilterSyntaxError,
  parseTraceFilter,
  fieldName,
  type FilterClause,
  type FieldRef,
  type FilterValue,
  type Operator,
  type TraceAttr,
  type AssessmentKind,
} from "./filter-parser.js";
export { ParamBag, compileTraceFilter, compileClauses, compileClause, type ParamType } from "./filter-compiler.js";
export {
  searchTraceSummaries,
  compileOrderBy,
  InvalidPageTokenError,
  InvalidOrderByError,
  InvalidSearchParameterError,
  DEFAULT_MAX_RESULTS,
  MAX_MAX_RESULTS,
  type TraceSearchRequest,
  type TraceSearchPage,
  type TraceSummaryRow,
  type SortKey,
  type SortField,
  type SortDirection,
  type CompiledOrderBy,
  type TraceSearchQuery,
  buildTraceSearchQuery,
  LIMIT_PARAM,
} from "./trace-search.js";
