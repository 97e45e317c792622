// Screenshots of the page for a look by eye, light and dark: a checkpoint with a tensor selected
// (statistics and histogram), its checkpoint sections, an ONNX graph, a whole pickled model's
// safety findings, and BERT-tiny's architecture. Writes tests/e2e/out/shot-*.png.
// Usage: node scripts/screenshots.mjs   (after scripts/build-web.sh)
import path from 'node:path';
import { start, openFiles, findRow, OUT } from '../tests/e2e/harness.mjs';

const h = await start();
try {
  for (const colorScheme of ['light', 'dark']) {
    const page = await h.newPage({ colorScheme });
    await openFiles(page, 'cnn_checkpoint_adam.pt');
    await (await findRow(page, 'conv1.weight')).click();
    await page.locator('#models > article:not([hidden]) .hist').waitFor();
    await page.screenshot({ path: path.join(OUT, `shot-tensor-${colorScheme}.png`) });
    await page.screenshot({ path: path.join(OUT, `shot-tensor-full-${colorScheme}.png`), fullPage: true });
    await openFiles(page, 'bert_tiny.onnx');
    await page.locator('#models > article:not([hidden]) svg.graph, #models > article:not([hidden]) .graph-canvas').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(OUT, `shot-onnx-${colorScheme}.png`) });
    await page.screenshot({ path: path.join(OUT, `shot-onnx-full-${colorScheme}.png`), fullPage: true });
    // The safety badges: a whole pickled model torch refuses ("Needs trust", its findings open).
    await openFiles(page, 'mlp_entire_model.pt');
    await page.locator('#models > article:not([hidden]) .findings summary').click();
    await page.screenshot({ path: path.join(OUT, `shot-safety-${colorScheme}.png`) });
    // Architecture at a glance: BERT-tiny's family, parts and blocks, its weight norms read.
    const bert = await openFiles(page, 'bert_tiny_pytorch_model.bin');
    await bert.locator('[role="tab"][data-section="architecture"]').click();
    await bert.locator('button.compute-norms').click();
    await bert.locator('.norms-chart').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT, `shot-architecture-${colorScheme}.png`), fullPage: true });
    await page.close();
  }
  console.log(`screenshots in ${OUT}`);
} finally {
  await h.close();
}
