import { describe, expect, it } from 'vitest';
import { resolveImageSource } from './internal/image-source.ts';
import {
  LIBLIB_GENERATION_OPERATIONS,
  LIBLIB_OPERATIONS,
  liblibStatusPath,
  SEEDREAM_MODELS,
} from './operations.ts';
import { LIBLIB_TEMPLATES } from './templates.ts';

const URL1 = 'https://liblibai-online.liblib.cloud/img/a.png';
const URL2 = 'https://liblibai-online.liblib.cloud/img/b.png';
const p = (n: number) => 'x'.repeat(n);
const MB = 1024 * 1024;
/** A data URL whose base64 decodes to exactly `bytes` bytes. */
const inline = (bytes: number) => `data:image/png;base64,${Buffer.alloc(bytes, 1).toString('base64')}`;
const JPEG_DATA_URL = `data:image/jpeg;base64,${Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Array(16).fill(0)]).toString('base64')}`;
const PNG_DATA_URL = `data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array(16).fill(0)]).toString('base64')}`;
const unit = { sourceImage: URL1, preprocessor: 3, model: '6349e9dae8814084bd9c1585d335c24c' };

type Row = [label: string, input: Record<string, unknown>];

/** Per operation: inputs the schema must accept, and inputs it must refuse (with the range at stake). */
const TABLE: Record<string, { valid: Row[]; invalid: Row[] }> = {
  'star3.text2img': {
    valid: [
      ['aspect ratio', { prompt: 'a cat', aspectRatio: 'portrait', imgCount: 1 }],
      ['image size bounds', { prompt: 'a cat', imageSize: { width: 512, height: 2048 }, imgCount: 4 }],
      [
        'controlnet subject',
        {
          prompt: 'a',
          aspectRatio: 'square',
          imgCount: 1,
          controlnet: { controlType: 'subject', controlImage: URL1 },
        },
      ],
    ],
    invalid: [
      ['neither aspectRatio nor imageSize', { prompt: 'a', imgCount: 1 }],
      ['aspectRatio not in enum', { prompt: 'a', aspectRatio: '1:1', imgCount: 1 }],
      ['width 511', { prompt: 'a', imageSize: { width: 511, height: 1024 }, imgCount: 1 }],
      ['height 2049', { prompt: 'a', imageSize: { width: 1024, height: 2049 }, imgCount: 1 }],
      ['imgCount 5', { prompt: 'a', aspectRatio: 'square', imgCount: 5 }],
      ['imgCount missing', { prompt: 'a', aspectRatio: 'square' }],
      ['prompt 2001', { prompt: p(2001), aspectRatio: 'square', imgCount: 1 }],
      [
        'controlType unknown',
        {
          prompt: 'a',
          aspectRatio: 'square',
          imgCount: 1,
          controlnet: { controlType: 'canny', controlImage: URL1 },
        },
      ],
      [
        'foreign templateUuid',
        { prompt: 'a', aspectRatio: 'square', imgCount: 1, templateUuid: LIBLIB_TEMPLATES.kontextText2img },
      ],
    ],
  },
  'star3.img2img': {
    valid: [['source image', { prompt: 'a', sourceImage: URL1, imgCount: 2 }]],
    invalid: [
      ['no sourceImage', { prompt: 'a', imgCount: 1 }],
      ['imgCount 0', { prompt: 'a', sourceImage: URL1, imgCount: 0 }],
    ],
  },
  'custom.text2img': {
    valid: [
      ['F.1 minimal', { prompt: 'a', width: 768, height: 1024, imgCount: 1 }],
      // 002 §4.1.3.1 / §4.4.2 mark the prompt 选填 where §4.2.1's table says 是: both readings.
      ["no prompt (the examples' reading)", { width: 768, height: 1024 }],
      [
        "Qwen-Image's template at 2048 (002 §11.1.2)",
        { prompt: 'a', templateUuid: LIBLIB_TEMPLATES.qwenText2img, width: 2048 },
      ],
      [
        'XL full',
        {
          templateUuid: LIBLIB_TEMPLATES.customSdText2img,
          checkPointId: '0ea388c7eb854be3ba3c6f65aac6bfd3',
          prompt: 'a',
          negativePrompt: p(2000),
          clipSkip: 12,
          sampler: 30,
          steps: 60,
          cfgScale: 15,
          width: 128,
          height: 1536,
          imgCount: 4,
          randnSource: 1,
          seed: 9_999_999_999,
          restoreFaces: 1,
          additionalNetwork: [
            { modelId: 'a', weight: -4 },
            { modelId: 'b', weight: 4 },
          ],
          hiResFixInfo: {
            hiresSteps: 30,
            hiresDenoisingStrength: 1,
            upscaler: 26,
            resizedWidth: 2048,
            resizedHeight: 128,
          },
          controlNet: [{ ...unit, unitOrder: 0, controlWeight: 2, maskImage: '' }],
        },
      ],
    ],
    invalid: [
      ['width 1537', { prompt: 'a', width: 1537 }],
      ['steps 61', { prompt: 'a', steps: 61 }],
      ['cfgScale 0.5', { prompt: 'a', cfgScale: 0.5 }],
      ['sampler 22 (not in §7.5)', { prompt: 'a', sampler: 22 }],
      ['seed -2', { prompt: 'a', seed: -2 }],
      ['clipSkip 13', { prompt: 'a', clipSkip: 13 }],
      ['6 LoRAs', { prompt: 'a', additionalNetwork: Array.from({ length: 6 }, () => ({ modelId: 'a' })) }],
      ['LoRA weight 4.1', { prompt: 'a', additionalNetwork: [{ modelId: 'a', weight: 4.1 }] }],
      ['hiresSteps 31', { prompt: 'a', hiResFixInfo: { hiresSteps: 31 } }],
      ['upscaler 27', { prompt: 'a', hiResFixInfo: { upscaler: 27 } }],
      ['5 ControlNet units', { prompt: 'a', controlNet: Array.from({ length: 5 }, () => unit) }],
      ['controlWeight 2.5', { prompt: 'a', controlNet: [{ ...unit, controlWeight: 2.5 }] }],
      ['ControlNet without model', { prompt: 'a', controlNet: [{ sourceImage: URL1, preprocessor: 1 }] }],
      ['templateUuid not hex', { prompt: 'a', templateUuid: 'xl' }],
      ['empty prompt', { prompt: '', width: 768 }],
      [
        'height 1537 with a custom template',
        { prompt: 'a', templateUuid: LIBLIB_TEMPLATES.customSdText2img, height: 1537 },
      ],
      // 002 §4.4.1: only the endpoint's own templates, unless statusEndpoint says where to poll.
      ['an img2img template', { prompt: 'a', templateUuid: LIBLIB_TEMPLATES.customSdImg2img }],
      ["Kontext's template", { prompt: 'a', templateUuid: LIBLIB_TEMPLATES.kontextText2img }],
      [
        "Qwen's template with the wrong statusEndpoint",
        { prompt: 'a', templateUuid: LIBLIB_TEMPLATES.qwenText2img, statusEndpoint: 'webui' },
      ],
      [
        'statusEndpoint not webui or generate',
        { prompt: 'a', templateUuid: '0123456789abcdef0123456789abcdef', statusEndpoint: 'comfy' },
      ],
    ],
  },
  'custom.img2img': {
    valid: [
      [
        'image-to-image inpaint template (002 §4.4.1)',
        { prompt: 'a', sourceImage: URL1, templateUuid: LIBLIB_TEMPLATES.customImg2imgInpaint },
      ],
      [
        'an unlisted template through the escape hatch',
        {
          prompt: 'a',
          sourceImage: URL1,
          templateUuid: '0123456789abcdef0123456789abcdef',
          statusEndpoint: 'webui',
        },
      ],
      ['img2img', { prompt: 'a', sourceImage: URL1, mode: 0, denoisingStrength: 0.75, resizedWidth: 2048 }],
      [
        'inpaint',
        {
          templateUuid: LIBLIB_TEMPLATES.customSdImg2img,
          prompt: 'a',
          sourceImage: URL1,
          mode: 4,
          inpaintParam: {
            maskImage: URL2,
            maskBlur: 64,
            maskPadding: 256,
            maskMode: 1,
            inpaintArea: 1,
            inpaintingFill: 3,
          },
        },
      ],
    ],
    invalid: [
      ['mode 4 without inpaintParam', { prompt: 'a', sourceImage: URL1, mode: 4 }],
      ['mode 2', { prompt: 'a', sourceImage: URL1, mode: 2 }],
      ['denoisingStrength 1.1', { prompt: 'a', sourceImage: URL1, denoisingStrength: 1.1 }],
      [
        'maskBlur 65',
        { prompt: 'a', sourceImage: URL1, mode: 4, inpaintParam: { maskImage: URL2, maskBlur: 65 } },
      ],
      [
        'inpaintingFill 4',
        { prompt: 'a', sourceImage: URL1, mode: 4, inpaintParam: { maskImage: URL2, inpaintingFill: 4 } },
      ],
      ['resizedHeight 127', { prompt: 'a', sourceImage: URL1, resizedHeight: 127 }],
    ],
  },
  'kontext.text2img': {
    valid: [
      ['prompt of exactly 2000', { prompt: p(2000) }],
      [
        'all fields at bounds',
        { prompt: 'a', model: 'pro', aspectRatio: '21:9', imgCount: 4, guidance_scale: 20 },
      ],
      ['guidance 1.0', { prompt: 'a', guidance_scale: 1 }],
    ],
    invalid: [
      ['prompt of 2001', { prompt: p(2001) }],
      ['imgCount 5', { prompt: 'a', imgCount: 5 }],
      ['aspectRatio 5:4', { prompt: 'a', aspectRatio: '5:4' }],
      ['guidance 20.5', { prompt: 'a', guidance_scale: 20.5 }],
      ['guidance 0.9', { prompt: 'a', guidance_scale: 0.9 }],
      ['model ultra', { prompt: 'a', model: 'ultra' }],
      ['imgCount 1.5', { prompt: 'a', imgCount: 1.5 }],
      ['empty prompt', { prompt: '' }],
    ],
  },
  'kontext.img2img': {
    valid: [
      ['four references (max)', { prompt: 'a', image_list: [URL1, URL2, URL1, URL2] }],
      ['pro with one reference', { prompt: 'a', model: 'pro', image_list: [URL1] }],
    ],
    invalid: [
      ['no image_list', { prompt: 'a' }],
      ['empty image_list', { prompt: 'a', image_list: [] }],
      ['five references', { prompt: 'a', image_list: [URL1, URL2, URL1, URL2, URL1] }],
      ['pro with two references', { prompt: 'a', model: 'pro', image_list: [URL1, URL2] }],
    ],
  },
  'img1.generate': {
    valid: [
      [
        'eight references',
        {
          prompt: 'a',
          imgCount: 1,
          aspectRatio: 'auto',
          quality: 'masterpiece',
          image_list: Array(8).fill(URL1),
        },
      ],
    ],
    invalid: [
      ['nine references', { prompt: 'a', imgCount: 1, image_list: Array(9).fill(URL1) }],
      ['quality high', { prompt: 'a', imgCount: 1, quality: 'high' }],
      ['aspectRatio 1:1', { prompt: 'a', imgCount: 1, aspectRatio: '1:1' }],
      [
        'a text-to-image template',
        { prompt: 'a', sourceImage: URL1, templateUuid: LIBLIB_TEMPLATES.customF1Text2img },
      ],
      [
        'an unlisted template without statusEndpoint',
        { prompt: 'a', sourceImage: URL1, templateUuid: '0123456789abcdef0123456789abcdef' },
      ],
    ],
  },
  'img1.inpaint': {
    valid: [
      ['image and mask', { prompt: 'a', imgCount: 1, image: URL1, mask: URL2 }],
      ['inline JPEG image, PNG mask', { prompt: 'a', imgCount: 1, image: JPEG_DATA_URL, mask: PNG_DATA_URL }],
      [
        '4 MB inline image and mask',
        { prompt: 'a', imgCount: 1, image: inline(4 * MB), mask: inline(4 * MB) },
      ],
    ],
    invalid: [
      ['no mask', { prompt: 'a', imgCount: 1, image: URL1 }],
      // 002 §6.2.2: image and mask ≤ 4 MB each.
      ['inline image over 4 MB', { prompt: 'a', imgCount: 1, image: inline(4 * MB + 1), mask: URL2 }],
      ['inline mask over 4 MB', { prompt: 'a', imgCount: 1, image: URL1, mask: inline(4 * MB + 1) }],
      // 002 §6.2.2: the mask's format is png.
      ['inline JPEG mask', { prompt: 'a', imgCount: 1, image: URL1, mask: JPEG_DATA_URL }],
    ],
  },
  'libdream.text2img': {
    valid: [
      ['2048 × 2048', { prompt: 'a', width: 2048, height: 2048, scale: 10, usePreLlm: true }],
      ['3072 × 512', { prompt: 'a', width: 3072, height: 512 }],
    ],
    invalid: [
      ['3072 × 2048 (over 2048²)', { prompt: 'a', width: 3072, height: 2048 }],
      ['width 511', { prompt: 'a', width: 511 }],
      ['scale 10.5', { prompt: 'a', scale: 10.5 }],
      ['usePreLlm "false"', { prompt: 'a', usePreLlm: 'false' }],
    ],
  },
  'libedit.img2img': {
    valid: [['one image', { prompt: 'a', image_urls: [URL1], scale: 1, promptMagic: 1 }]],
    invalid: [
      ['two images', { prompt: 'a', image_urls: [URL1, URL2] }],
      ['scale 1.5', { prompt: 'a', image_urls: [URL1], scale: 1.5 }],
    ],
  },
  'libeditv2.img2img': {
    valid: [
      ['size 2016 × 864', { prompt: 'a', image_urls: [URL1], width: 2016, height: 864 }],
      // 002 §9.3: the table says cd3a…, the example c92f…; both are accepted.
      [
        "§9.3.1's table template",
        { prompt: 'a', image_urls: [URL1], templateUuid: LIBLIB_TEMPLATES.libEditV2Table },
      ],
      [
        "§9.3's example template",
        { prompt: 'a', image_urls: [URL1], templateUuid: LIBLIB_TEMPLATES.libEditV2 },
      ],
    ],
    invalid: [
      ['width 2017', { prompt: 'a', image_urls: [URL1], width: 2017 }],
      [
        "Kontext's template",
        { prompt: 'a', image_urls: [URL1], templateUuid: LIBLIB_TEMPLATES.kontextText2img },
      ],
    ],
  },
  'seedream.generate': {
    valid: [
      ['4.0 defaults', { prompt: 'a' }],
      [
        '4.0 group mode, 10 refs + 5',
        {
          prompt: 'a',
          imgCount: 5,
          sequentialImageGeneration: 'auto',
          referenceImages: Array(10).fill(URL1),
        },
      ],
      ['4.5 at 2560 × 1440', { prompt: 'a', model: SEEDREAM_MODELS.v45, width: 2560, height: 1440 }],
      // 002 §9.5.2 bounds 4.5 by total pixels and ratio only: no 4096 cap per side.
      ['4.5 at 6144 × 2048', { prompt: 'a', model: SEEDREAM_MODELS.v45, width: 6144, height: 2048 }],
      ['4.5 at 4096 × 4096', { prompt: 'a', model: SEEDREAM_MODELS.v45, width: 4096, height: 4096 }],
      ['4.5 at 16:1 (8000 × 500)', { prompt: 'a', model: SEEDREAM_MODELS.v45, width: 8000, height: 500 }],
      ['4.0 at 1024 × 1024', { prompt: 'a', width: 1024, height: 1024 }],
      ['4.0 at 512 × 2048 (both readings)', { prompt: 'a', width: 512, height: 2048 }],
      ['4.0 at 4096 × 4096 (§9.4.2)', { prompt: 'a', width: 4096, height: 4096 }],
      [
        '4.5 with 14 refs',
        { prompt: 'a', model: SEEDREAM_MODELS.v45, referenceImages: Array(14).fill(URL1), imgCount: 1 },
      ],
    ],
    invalid: [
      ['4.0 with 11 refs', { prompt: 'a', referenceImages: Array(11).fill(URL1) }],
      [
        'refs + imgCount over 15',
        { prompt: 'a', model: SEEDREAM_MODELS.v45, imgCount: 5, referenceImages: Array(11).fill(URL1) },
      ],
      ['imgCount 16', { prompt: 'a', imgCount: 16 }],
      ['4.5 at 1024 × 1024', { prompt: 'a', model: SEEDREAM_MODELS.v45, width: 1024, height: 1024 }],
      ['4.5 over 4096² pixels', { prompt: 'a', model: SEEDREAM_MODELS.v45, width: 8192, height: 2049 }],
      ['4.5 beyond 16:1', { prompt: 'a', model: SEEDREAM_MODELS.v45, width: 8500, height: 500 }],
      ['4.0 width 4097', { prompt: 'a', width: 4097 }],
      ['4.0 width 511', { prompt: 'a', width: 511, height: 4096 }],
      // 002 §9.4.2: 4.0's total pixels are at least 1024 × 1024.
      ['4.0 at 512 × 512', { prompt: 'a', width: 512, height: 512 }],
      ['4.0 at 1000 × 1000', { prompt: 'a', width: 1000, height: 1000 }],
      ['unknown model', { prompt: 'a', model: 'doubao-seedream-3' }],
      ['sequentialImageGeneration on', { prompt: 'a', sequentialImageGeneration: 'on' }],
    ],
  },
  'comfyui.run': {
    valid: [
      [
        'workflow with nodes',
        {
          workflowUuid: '2f22ab7ce4c044afb6d5eee2e61547f3',
          '12': { class_type: 'LoadImage', inputs: { image: URL1 } },
          '136': { class_type: 'RepeatLatentBatch', inputs: { amount: 4 } },
        },
      ],
    ],
    invalid: [
      ['no workflowUuid', { '12': { class_type: 'LoadImage', inputs: { image: URL1 } } }],
      ['workflowUuid not hex', { workflowUuid: 'my-workflow' }],
    ],
  },
  'kling.text2video': {
    valid: [
      ['defaults', { prompt: 'a band on stage' }],
      [
        'v2-6 with sound, 2500 chars',
        { prompt: p(2500), model: 'kling-v2-6', sound: 'on', duration: '10', aspectRatio: '1:1' },
      ],
      ['numeric duration', { prompt: 'a', duration: 5 }],
      ['v2-5-turbo in pro', { prompt: 'a', model: 'kling-v2-5-turbo', mode: 'pro' }],
    ],
    invalid: [
      ['2001 chars on v2-1-master', { prompt: p(2001), model: 'kling-v2-1-master' }],
      ['duration 7', { prompt: 'a', duration: '7' }],
      ['aspectRatio 4:3', { prompt: 'a', aspectRatio: '4:3' }],
      ['v2-5-turbo in std', { prompt: 'a', model: 'kling-v2-5-turbo', mode: 'std' }],
      ['v2-5-turbo without mode', { prompt: 'a', model: 'kling-v2-5-turbo' }],
    ],
  },
  'kling.img2video': {
    valid: [
      ['start frame', { prompt: 'a', model: 'kling-v2-1', startFrame: URL1, duration: '5' }],
      [
        'start and end on v1-6 pro',
        { prompt: 'a', model: 'kling-v1-6', mode: 'pro', startFrame: URL1, endFrame: URL2 },
      ],
      ['v2-6 image', { prompt: 'a', model: 'kling-v2-6', image: URL1, sound: 'off' }],
      ['v2-6 images', { prompt: 'a', model: 'kling-v2-6', images: [URL1] }],
      ['v2-6 image and the same images', { prompt: 'a', model: 'kling-v2-6', image: URL1, images: [URL1] }],
    ],
    invalid: [
      ['no frame', { prompt: 'a', model: 'kling-v2-1' }],
      ['end frame on v2-1', { prompt: 'a', model: 'kling-v2-1', mode: 'pro', endFrame: URL2 }],
      ['end frame in std', { prompt: 'a', model: 'kling-v1-6', mode: 'std', endFrame: URL2 }],
      ['v2-6 without image', { prompt: 'a', model: 'kling-v2-6' }],
      ['v2-6 image and other images', { prompt: 'a', model: 'kling-v2-6', image: URL1, images: [URL2] }],
      ['no prompt (required, 002 §10.2.2)', { model: 'kling-v2-1', startFrame: URL1 }],
      ['unknown model', { prompt: 'a', model: 'kling-v3', startFrame: URL1 }],
    ],
  },
  'kling.multiimg2video': {
    valid: [
      [
        'three references',
        { prompt: 'a', referenceImages: [URL1, URL2, URL1], aspectRatio: '16:9', mode: 'std' },
      ],
      // 002 §10.3.2 gives no maximum.
      ['seven references', { prompt: 'a', referenceImages: Array(7).fill(URL1) }],
    ],
    invalid: [
      ['no references', { prompt: 'a' }],
      ['no prompt (required, 002 §10.3.2)', { referenceImages: [URL1] }],
      ['model v2-1', { prompt: 'a', referenceImages: [URL1], model: 'kling-v2-1' }],
    ],
  },
  'qwen.text2img': {
    valid: [
      ['defaults', { prompt: 'a', width: 2048, height: 128, cfgScale: 4 }],
      ['no prompt (§11.1.2 example: 选填)', { width: 1328, height: 1328 }],
    ],
    invalid: [
      ['width 2049', { prompt: 'a', width: 2049 }],
      ['empty prompt', { prompt: '' }],
      ['steps 0', { prompt: 'a', steps: 0 }],
    ],
  },
  'model.version': {
    valid: [['uuid', { versionUuid: '21df5d84cca74f7a885ba672b5a80d19' }]],
    invalid: [['missing', {}]],
  },
};

describe('LIBLIB_OPERATIONS schemas (002 parameter tables)', () => {
  it('covers every operation of the catalog in this table', () => {
    expect(Object.keys(TABLE).sort()).toEqual(Object.keys(LIBLIB_OPERATIONS).sort());
  });

  const rows = Object.entries(TABLE).flatMap(([op, { valid, invalid }]) => [
    ...valid.map((row) => [op, 'accepts', ...row] as const),
    ...invalid.map((row) => [op, 'rejects', ...row] as const),
  ]);

  it.each(rows)('%s %s %s', (op, verdict, _label, input) => {
    const result = LIBLIB_OPERATIONS[op]!.schema.safeParse(input);
    expect(result.success).toBe(verdict === 'accepts');
  });

  it('passes unknown fields through untouched', () => {
    const parsed = LIBLIB_OPERATIONS['kontext.text2img']!.schema.parse({
      prompt: 'a',
      newKnob: { deep: [1, 2] },
    });
    expect(parsed).toEqual({ prompt: 'a', newKnob: { deep: [1, 2] } });
  });

  it('adds no defaults of its own, except the only Qwen checkpoint', () => {
    expect(LIBLIB_OPERATIONS['kontext.text2img']!.schema.parse({ prompt: 'a' })).toEqual({ prompt: 'a' });
    expect(LIBLIB_OPERATIONS['qwen.text2img']!.schema.parse({ prompt: 'a' })).toEqual({
      prompt: 'a',
      checkPointId: '75e0be0c93b34dd8baeec9c968013e0c',
    });
  });

  it("gives Qwen-Image's template through custom.text2img its one checkpoint (002 §11.1.2: 是)", () => {
    const schema = LIBLIB_OPERATIONS['custom.text2img']!.schema;
    expect(schema.parse({ templateUuid: LIBLIB_TEMPLATES.qwenText2img })).toMatchObject({
      checkPointId: '75e0be0c93b34dd8baeec9c968013e0c',
    });
    expect(schema.parse({ prompt: 'a' })).not.toHaveProperty('checkPointId');
  });

  it('sends Kling durations as strings, as the manual types them', () => {
    expect(LIBLIB_OPERATIONS['kling.text2video']!.schema.parse({ prompt: 'a', duration: 10 })).toMatchObject({
      duration: '10',
    });
  });

  it('names the field at fault', () => {
    const result = LIBLIB_OPERATIONS['kontext.img2img']!.schema.safeParse({ prompt: 'a', image_list: [1] });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toContain('image_list.0');
  });

  it('gives every generation a template and a status endpoint', () => {
    expect(LIBLIB_GENERATION_OPERATIONS).not.toContain('model.version');
    expect(LIBLIB_GENERATION_OPERATIONS).toHaveLength(Object.keys(LIBLIB_OPERATIONS).length - 1);
    for (const name of LIBLIB_GENERATION_OPERATIONS) {
      const op = LIBLIB_OPERATIONS[name]!;
      expect(op.templateUuid, name).toMatch(/^[0-9a-f]{32}$/);
      expect(op.statusPath, name).toMatch(/^\/api\/generate\/(webui\/|comfy\/)?status$/);
      expect(op.path, name).toMatch(/^\/api\/generate\//);
    }
  });
});

describe('kling.img2video spellings (002 §10.2.2)', () => {
  it("sends the example's images: [url] for the table's image", () => {
    const parsed = LIBLIB_OPERATIONS['kling.img2video']!.schema.parse({
      prompt: 'a',
      model: 'kling-v2-6',
      image: URL1,
    });
    expect(parsed.images).toEqual([URL1]);
    expect(parsed).not.toHaveProperty('image');
  });
});

describe('liblibStatusPath', () => {
  it.each([
    ['custom.text2img', {}, '/api/generate/webui/status'],
    ['custom.text2img', { templateUuid: LIBLIB_TEMPLATES.qwenText2img }, '/api/generate/status'],
    ['custom.text2img', { templateUuid: LIBLIB_TEMPLATES.customInstantId }, '/api/generate/webui/status'],
    [
      'custom.img2img',
      { templateUuid: '0123456789abcdef0123456789abcdef', statusEndpoint: 'generate' },
      '/api/generate/status',
    ],
    ['kontext.text2img', {}, '/api/generate/status'],
  ])('%s %j is polled on %s', (op, input, path) => {
    expect(liblibStatusPath(LIBLIB_OPERATIONS[op]!, input)).toBe(path);
  });
});

describe('img1.inpaint mask format (002 §6.2.2: the mask is a png)', () => {
  const op = LIBLIB_OPERATIONS['img1.inpaint']!;
  const pad = (head: Buffer | string) => Buffer.concat([Buffer.from(head), Buffer.alloc(32)]);
  // The schema refuses what it recognizes as another format; what it lets through unrecognized,
  // the upload judges on its bytes. Either way only a PNG mask ever reaches the provider.
  it.each([
    ['PNG', 'accepts', 'uploads', pad(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))],
    ['JPEG', 'rejects', 'refuses', pad(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))],
    [
      'WebP',
      'rejects',
      'refuses',
      pad(Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')])),
    ],
    ['GIF87a', 'rejects', 'refuses', pad('GIF87a')],
    ['GIF89a', 'rejects', 'refuses', pad('GIF89a')],
    ['GIF8 not followed by 7a or 9a (no GIF)', 'accepts', 'refuses', pad('GIF8xa')],
    ['unrecognized bytes', 'accepts', 'refuses', Buffer.alloc(40, 1)],
  ] as const)('%s: the schema %s it, the upload %s it', async (_label, schema, upload, bytes) => {
    const encodings = [
      `data:image/png;base64,${bytes.toString('base64')}`,
      bytes.toString('base64'),
      bytes.toString('base64url'),
    ];
    for (const mask of encodings) {
      const result = op.schema.safeParse({ prompt: 'a', imgCount: 1, image: URL1, mask });
      expect(result.success, mask).toBe(schema === 'accepts');
      const resolved = resolveImageSource(mask, { limit: op.imageLimits!.mask! });
      if (upload === 'uploads') await expect(resolved, mask).resolves.toMatchObject({ kind: 'bytes' });
      else await expect(resolved, mask).rejects.toMatchObject({ errorClass: 'invalid_job' });
    }
  });
});
