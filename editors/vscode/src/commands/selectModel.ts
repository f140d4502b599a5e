// "Poe: Select Model": picks the model from Poe's list and stores it in poe.defaultModel.

import * as vscode from 'vscode';

import { modelItems, type ModelItem } from '../modelItems';
import type { PoeContext } from '../poeContext';
import { Method, type ModelsResult } from '../protocol';

type Row = vscode.QuickPickItem & { modelId?: string };

/** Returns the handler of poe.selectModel. */
export function selectModelCommand(ctx: PoeContext): () => Promise<void> {
  return async () => {
    const picker = vscode.window.createQuickPick<Row>();
    const reload: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('refresh'), tooltip: 'Fetch the list from Poe again' };
    picker.title = 'Select a Poe model';
    picker.placeholder = `Current: ${ctx.model}. Type to filter by name, maker or description.`;
    picker.matchOnDescription = true;
    picker.matchOnDetail = true;
    picker.buttons = [reload];

    const load = async (refresh: boolean): Promise<void> => {
      picker.busy = true;
      try {
        const result = await ctx.sidecar.request<ModelsResult>(Method.providerModels, refresh ? { refresh: true } : {});
        const rows = modelItems(result.models, ctx.model).map(toRow);
        picker.items = rows;
        picker.activeItems = rows.filter((row) => row.modelId === ctx.model);
      } catch (error) {
        picker.hide();
        ctx.report(error, 'Loading the models');
      } finally {
        picker.busy = false;
      }
    };

    const chosen = await new Promise<string | undefined>((resolve) => {
      picker.onDidTriggerButton(() => void load(true));
      picker.onDidAccept(() => {
        const id = picker.selectedItems[0]?.modelId;
        if (id !== undefined) {
          resolve(id);
          picker.hide();
        }
      });
      picker.onDidHide(() => {
        resolve(undefined);
        picker.dispose();
      });
      picker.show();
      void load(false);
    });

    if (chosen !== undefined && chosen !== ctx.model) {
      await ctx.setModel(chosen);
    }
  };
}

function toRow(item: ModelItem): Row {
  if (item.modelId === undefined) {
    return { label: item.label, kind: vscode.QuickPickItemKind.Separator };
  }
  return { label: item.label, description: item.description, detail: item.detail, modelId: item.modelId };
}
