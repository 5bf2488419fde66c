// The rows room: the grid's view of an output file. Records stay on disk; the row index keeps byte
// ranges and answers windows, sorts, filters and searches next to the data.
export { RowIndex, type SortSpec, type ViewSpec, type GetRowsParams, type IndexedRow, type RowsResult, type ColumnsInfo, type ExportFormat, type Cell, type RowFormat, type RowIndexOptions } from './rowIndex';
export { formatOfPath } from './scanners';
export { usualColumns } from './values';
