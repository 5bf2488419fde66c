// AG Grid's theme, following VS Code's: every colour and font is a --vscode-* CSS variable, so the
// table changes with the theme, live.
import { themeQuartz } from 'ag-grid-community';

export const theme = themeQuartz.withParams({
  browserColorScheme: 'inherit',
  backgroundColor: 'var(--vscode-editor-background)',
  foregroundColor: 'var(--vscode-editor-foreground)',
  textColor: 'var(--vscode-editor-foreground)',
  headerBackgroundColor: 'var(--vscode-sideBarSectionHeader-background, var(--vscode-editor-background))',
  headerTextColor: 'var(--vscode-foreground)',
  borderColor: 'var(--vscode-editorGroup-border, var(--vscode-panel-border))',
  accentColor: 'var(--vscode-focusBorder)',
  rowHoverColor: 'var(--vscode-list-hoverBackground)',
  selectedRowBackgroundColor: 'var(--vscode-list-inactiveSelectionBackground)',
  oddRowBackgroundColor: 'var(--vscode-editor-background)',
  inputBackgroundColor: 'var(--vscode-input-background)',
  inputTextColor: 'var(--vscode-input-foreground)',
  inputBorder: { color: 'var(--vscode-input-border, transparent)' },
  inputFocusBorder: { color: 'var(--vscode-focusBorder)' },
  fontFamily: 'var(--vscode-font-family, sans-serif)',
  fontSize: 'var(--vscode-font-size, 13px)',
  dataFontSize: 'var(--vscode-editor-font-size, var(--vscode-font-size, 13px))',
  wrapperBorderRadius: 0,
  borderRadius: 2,
  spacing: 4,
  headerFontWeight: 600,
  chromeBackgroundColor: 'var(--vscode-editor-background)',
});
