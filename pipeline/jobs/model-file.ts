/** Loading and saving model JSON files, with errors that name the file. */
import { readFile, writeFile } from 'fs/promises';
import { ModelError, parseModel } from '../../core/normalization/model-validate';
import { serializeModel, type TransformerModel } from '../../core/normalization/model';
import { InputError } from './input-error';

export async function loadModelFile(path: string): Promise<TransformerModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InputError(`${path}: cannot read the model (no such file?)`);
  }
  try {
    return parseModel(text, path);
  } catch (err) {
    if (err instanceof ModelError) throw new InputError(`corrupt model: ${err.message}`);
    throw err;
  }
}

export async function saveModelFile(path: string, model: TransformerModel): Promise<void> {
  await writeFile(path, serializeModel(model), 'utf8');
}
