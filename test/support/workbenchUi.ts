// Helpers for Playwright tests on the Zendesk sidebar (the workbench updates asynchronously: poll
// with until(), don't assume).
import type { Page } from 'playwright-core';
import { until } from './until';

/** Rows of the tree view titled `title` in the side bar. */
export function viewRows(page: Page, title: string) {
  const pane = page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header', { hasText: title }) });
  return pane.locator('.monaco-list-row');
}

export async function openZendeskSidebar(page: Page): Promise<void> {
  await until('the Zendesk activity bar entry', async () => {
    const item = page.locator('.activitybar .action-item a[aria-label^="Zendesk"], .activitybar .action-item [aria-label^="Zendesk"]').first();
    if (!(await item.isVisible())) return false;
    await item.click();
    return page.locator('.part.sidebar .pane-header', { hasText: 'Connections' }).first().isVisible();
  }, 60_000);
}
