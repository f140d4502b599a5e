// Playwright helpers for the code-server workbench: the command palette,
// quick picks, the Poe status bar item, notifications and the chat webview.

import type { Frame, Locator, Page } from 'playwright-core';

/** DOM id of the Poe status bar item: the extension id, then the item id. */
const STATUS_ITEM = '[id="poe-sidecar.poe-sidecar.poe.status"]';

/** Default wait in milliseconds for one thing to appear in the workbench. */
export const UI_WAIT_MS = 30_000;

/** Returns the state of the service worker that serves the page of a webview host frame. */
async function webviewHostState(): Promise<unknown> {
  const registrations = await navigator.serviceWorker.getRegistrations();
  return {
    controlled: navigator.serviceWorker.controller !== null,
    registrations: registrations.map((registration) => ({
      scope: registration.scope,
      active: registration.active?.state,
      waiting: registration.waiting?.state,
      installing: registration.installing?.state,
    })),
    frames: document.querySelectorAll('iframe').length,
  };
}

/** Workbench drives one code-server page. */
export class Workbench {
  constructor(readonly page: Page) {}

  /** Waits until the workbench has loaded. */
  async ready(ms = 90_000): Promise<void> {
    await this.page.waitForSelector('.monaco-workbench', { timeout: ms });
  }

  /** Runs a command by its palette title, such as "Poe: Sign In". */
  async runCommand(title: string): Promise<void> {
    await this.closeQuickInput();
    await this.page.keyboard.press('Control+Shift+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: UI_WAIT_MS });
    await input.fill(`>${title}`);
    const row = this.quickPickRow(title);
    await row.waitFor({ state: 'visible', timeout: UI_WAIT_MS });
    await row.click();
  }

  /** Returns the first row of the open quick pick whose text contains text. */
  quickPickRow(text: string): Locator {
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
  }

  /** Clicks the quick pick row that contains text, once it has appeared. */
  async pick(text: string, ms = UI_WAIT_MS): Promise<void> {
    const row = this.quickPickRow(text);
    await row.waitFor({ state: 'visible', timeout: ms });
    await row.click();
  }

  /** Presses Escape while a quick pick or input box is open. */
  async closeQuickInput(): Promise<void> {
    if (await this.page.locator('.quick-input-widget').isVisible()) {
      await this.page.keyboard.press('Escape');
    }
  }

  /**
   * Waits until the quick input's text is want and returns it; after ms it
   * returns the text it has then, for the caller's message.
   */
  async waitForInputValue(want: string, ms = UI_WAIT_MS): Promise<string> {
    const input = this.page.locator('.quick-input-widget input');
    const deadline = Date.now() + ms;
    let value = '';
    while (Date.now() < deadline) {
      value = await input.inputValue().catch(() => '');
      if (value === want) {
        break;
      }
      await this.page.waitForTimeout(50);
    }
    return value;
  }

  /** Returns the validation message under the open input box, if any. */
  async inputMessage(): Promise<string> {
    return (await this.page.locator('.quick-input-widget .quick-input-message').textContent())?.trim() ?? '';
  }

  /** Returns the text of the Poe status bar item. */
  async statusText(): Promise<string> {
    return (await this.page.locator(STATUS_ITEM).textContent())?.trim() ?? '';
  }

  /** Waits until the Poe status bar item's text matches pattern and returns the text. */
  async waitForStatus(pattern: RegExp, ms = UI_WAIT_MS): Promise<string> {
    const item = this.page.locator(STATUS_ITEM);
    await item.filter({ hasText: pattern }).waitFor({ state: 'visible', timeout: ms });
    return (await item.textContent())?.trim() ?? '';
  }

  /** Waits for a notification toast that contains text. */
  async waitForNotification(text: string, ms = UI_WAIT_MS): Promise<void> {
    await this.page.locator('.notification-toast', { hasText: text }).first().waitFor({ state: 'visible', timeout: ms });
  }

  /** Returns the texts of the notification toasts on screen. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notification-toast .notification-list-item-message').allTextContents();
  }

  /** Reports whether an output channel is shown in the panel. */
  async outputPanelVisible(): Promise<boolean> {
    return this.page.locator('.part.panel .output-view').isVisible();
  }

  /** Returns the frame of the chat webview, waiting up to ms for it to load. */
  async chatFrame(ms = UI_WAIT_MS): Promise<Frame> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if ((await frame.$('#messages').catch(() => null)) !== null) {
          return frame;
        }
      }
      await this.page.waitForTimeout(100);
    }
    const frames = this.page.frames().map((frame) => frame.url().slice(0, 120));
    const hosts = await Promise.all(
      this.page
        .frames()
        .filter((frame) => frame.url().includes('/webview/browser/pre/index.html'))
        .map((frame) => frame.evaluate(webviewHostState).catch((error: Error) => `cannot read the webview host: ${error.message}`)),
    );
    throw new Error(
      `the chat webview did not load within ${ms} ms; the page has these frames: ${JSON.stringify(frames)}; webview hosts: ${JSON.stringify(hosts)}`,
    );
  }

  /** Drags the side bar's right edge to make it width pixels wide. */
  async setSideBarWidth(width: number): Promise<void> {
    const sideBar = await this.page.locator('.part.sidebar').boundingBox();
    if (sideBar === null) {
      throw new Error('the side bar is not visible');
    }
    const edge = sideBar.x + sideBar.width;
    const y = sideBar.y + sideBar.height / 2;
    await this.page.mouse.move(edge, y);
    await this.page.mouse.down();
    await this.page.mouse.move(sideBar.x + width, y, { steps: 8 });
    await this.page.mouse.up();
    // Away from the edge, which stays highlighted while the pointer is on it.
    await this.page.mouse.move(sideBar.x + width + 300, y);
  }

  /** Opens a file of the workspace folder with Quick Open. */
  async openFile(name: string): Promise<void> {
    await this.closeQuickInput();
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: UI_WAIT_MS });
    await input.fill(name);
    await this.pick(name);
    await this.page.locator('.tab.active', { hasText: name }).waitFor({ timeout: UI_WAIT_MS });
  }

  /** Returns the text the active editor shows, line by line. */
  async editorText(): Promise<string> {
    const lines = await this.page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line').allTextContents();
    // Monaco renders spaces as no-break spaces.
    return lines.join('\n').replace(/\u00a0/g, ' ');
  }

  /** Puts the keyboard focus into the active editor. */
  async focusEditor(): Promise<void> {
    await this.page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
  }
}
