// The Poe status bar item, redrawn whenever the context changes.

import * as vscode from 'vscode';

import type { PoeContext } from './poeContext';
import { statusView } from './statusModel';

/** StatusBar shows the sign-in state, the model and the balance, and runs the next action on click. */
export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly ctx: PoeContext) {
    this.item = vscode.window.createStatusBarItem('poe.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Poe';
    this.subscription = ctx.onDidChange(() => this.update());
    this.update();
    this.item.show();
  }

  private update(): void {
    const view = statusView({
      sidecar: this.ctx.sidecar.state,
      auth: this.ctx.auth,
      model: this.ctx.model,
      points: this.ctx.points,
    });
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.accessibilityInformation = { label: view.tooltip };
    this.item.command = { title: 'Poe', command: view.command.id, arguments: view.command.args };
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
