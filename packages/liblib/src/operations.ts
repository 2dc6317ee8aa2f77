/**
 * The LiblibAI operation catalog: every submission endpoint of 002, with its path, template, status
 * endpoint, the image fields that may need uploading, and a zod schema carrying the manual's ranges
 * and enums.
 *
 * Inputs are the endpoint's `generateParams`, in the provider's own field names (`prompt`,
 * `aspectRatio`, `imgCount`, `guidance_scale`, ...), plus an optional `templateUuid` that goes to
 * the top level of the request body. Each operation accepts only the templates the manual lists
 * for its endpoint (`templates`), and each template is polled on the status endpoint the manual
 * gives for it: Qwen-Image's template is submitted on the custom-model path but polled on
 * `/api/generate/status` (002 §11). The custom-model operations have an escape hatch for templates
 * the manual does not list yet: set `statusEndpoint` (`webui` or `generate`) beside the
 * `templateUuid`, saying where LiblibAI answers its status; it is not sent. ComfyUI takes any
 * template (workflows are published by users, 002 §8.4). Unknown fields pass through
 * (`.passthrough()`), so new provider parameters keep working; schemas add no defaults (the
 * provider applies its own), except Qwen's only checkpoint.
 *
 * Required-ness: the manual's "必填" column marks nearly every custom-model field as required,
 * while its own template examples (002 §4.4.2) omit most of them. We require what every example
 * sends (the source image, ...) and check the ranges of everything else when present; a field the
 * provider still misses comes back as 100000 / 100050 (`invalid_job`). The text-to-image prompt on
 * the custom-model path is optional: the tables and examples there disagree (see `text2imgPrompt`).
 */
import { z } from 'zod';
import { sniff } from './internal/image-source.ts';
import { LIBLIB_TEMPLATES, QWEN_IMAGE_CHECKPOINT } from './templates.ts';

/** Status endpoints (002 §3.2 / §4.1.5, §5.3, §8.2). */
export const LIBLIB_STATUS_PATHS = {
  /** Star-3 and custom-model tasks. */
  webui: '/api/generate/webui/status',
  /** Kontext, IMG1, libDream / libEdit, Seedream, Kling, Qwen. */
  generate: '/api/generate/status',
  /** ComfyUI workflows. */
  comfy: '/api/generate/comfy/status',
} as const;

/** The upload-signature endpoint (LiblibAI file-upload document, see the digest). */
export const LIBLIB_UPLOAD_SIGNATURE_PATH = '/api/generate/upload/signature';

/** An image field's own bounds, tighter than the upload API's 10 MB and PNG / JPEG / WebP. */
export interface LiblibImageLimit {
  /** Largest image, in bytes. Default: the upload API's 10 MB. */
  maxBytes?: number;
  /** Formats the field takes. Default: PNG, JPEG and WebP. */
  formats?: readonly ('png' | 'jpg' | 'webp')[];
  /** The manual's section, for messages (e.g. `002 §6.2.2`). */
  source: string;
}

/** One entry of the catalog. */
export interface LiblibOperation {
  /** Request path, e.g. `/api/generate/kontext/text2img`. */
  path: string;
  /** Default `templateUuid`; absent for `model.version`. Overridable via the `templateUuid` input where allowed. */
  templateUuid?: string;
  /** Status endpoint of the default template; absent for `model.version`, which is a lookup, not a generation. */
  statusPath?: string;
  /**
   * The templates the manual lists for this endpoint, each with its status endpoint. Absent where
   * any template is accepted (ComfyUI) or none applies (`model.version`).
   */
  templates?: Readonly<Record<string, string>>;
  /** Input schema (the endpoint's `generateParams` plus `templateUuid`), with the manual's ranges and enums. */
  schema: z.ZodType<Record<string, unknown>, z.ZodTypeDef, unknown>;
  /** What the task produces; `data` for `model.version`. */
  output: 'image' | 'video' | 'data';
  /** One line for error messages and docs. */
  description: string;
  /**
   * Fields holding input images, uploaded first when they are not http(s) URLs. Paths are dotted;
   * `name[]` means every element of the array `name`, `*` every property of an object, e.g.
   * `controlNet[].sourceImage`, `*.inputs.image`.
   */
  imageFields: readonly string[];
  /**
   * Bounds of single image fields (by their path, e.g. `mask`), checked on the bytes before an
   * inline image is uploaded. Inline images are also checked by the schema at arrival.
   */
  imageLimits?: Readonly<Record<string, LiblibImageLimit>>;
}

// ---------------------------------------------------------------------------------------------
// Field builders

const prompt = (max = 2000) =>
  z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const num = (min: number, max: number) => z.number().min(min).max(max);
const flag = z.union([z.literal(0), z.literal(1)]);
/** `-1` means random (002 §4.2.1). */
const seed = int(-1, 9_999_999_999);
const HEX32 = /^[0-9a-f]{32}$/i;
/** A model / version / template UUID as the manual prints them: 32 hex digits. */
const uuid = z.string().regex(HEX32, 'must be a 32-hex-digit UUID');
/**
 * An input image: a public http(s) URL, sent as is, or (uploaded first, see `LiblibClient.upload`)
 * a `data:` URL or bare base64. A local file path is refused at upload: the client never reads one.
 */
const image = z.string().min(1, 'must be an image URL, data URL or base64 image');
/**
 * The decoded size of an inline image (a `data:` URL or bare base64), or undefined for a URL or a
 * path, whose size only the provider sees.
 */
export function inlineImageBytes(value: string): number | undefined {
  const trimmed = value.trim();
  if (/^https?:\/\//i.test(trimmed)) return undefined;
  const comma = trimmed.indexOf(',');
  const payload = /^data:/i.test(trimmed) ? (comma < 0 ? '' : trimmed.slice(comma + 1)) : trimmed;
  if (payload.length < 16 || !/^[A-Za-z0-9+/_=\s-]+$/.test(payload.slice(0, 256))) return undefined;
  const compact = payload.replace(/\s+/g, '');
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return Math.floor((compact.length * 3) / 4) - padding;
}
/** An image input whose inline bytes, when inline, are at most `max` (URLs are checked by the provider). */
const inlineAtMost = (max: number, section: string) =>
  image.refine((v) => (inlineImageBytes(v) ?? 0) <= max, {
    message: `must be at most ${max / (1024 * 1024)} MB (${section})`,
  });
const images = (min: number, max: number) =>
  z.array(image).min(min, `must hold at least ${min} image(s)`).max(max, `must hold at most ${max} images`);
/** Templates fixed by the endpoint: the caller may repeat the default, nothing else. */
const fixedTemplate = (uuid: string) => z.literal(uuid).optional();
/** Templates the caller may choose (ComfyUI). */
const anyTemplate = uuid.optional();

const { webui: WEBUI_STATUS, generate: GENERATE_STATUS } = LIBLIB_STATUS_PATHS;
/**
 * Templates of the custom-model text→image endpoint `/api/generate/webui/text2img`: F.1 and 1.5/XL
 * full parameters, ControlNet inpaint and InstantID (002 §4.4.1), Star-3's template in the F.1
 * subject-reference example (002 §4.4.2), and Qwen-Image, polled elsewhere (002 §11.1.1, §11.2).
 */
export const CUSTOM_TEXT2IMG_TEMPLATES: Readonly<Record<string, string>> = Object.freeze({
  [LIBLIB_TEMPLATES.customF1Text2img]: WEBUI_STATUS,
  [LIBLIB_TEMPLATES.customSdText2img]: WEBUI_STATUS,
  [LIBLIB_TEMPLATES.customControlnetInpaint]: WEBUI_STATUS,
  [LIBLIB_TEMPLATES.customInstantId]: WEBUI_STATUS,
  [LIBLIB_TEMPLATES.star3Text2img]: WEBUI_STATUS,
  [LIBLIB_TEMPLATES.qwenText2img]: GENERATE_STATUS,
});
/** Templates of `/api/generate/webui/img2img`: F.1, 1.5/XL and image→image inpaint (002 §4.4.1). */
export const CUSTOM_IMG2IMG_TEMPLATES: Readonly<Record<string, string>> = Object.freeze({
  [LIBLIB_TEMPLATES.customF1Img2img]: WEBUI_STATUS,
  [LIBLIB_TEMPLATES.customSdImg2img]: WEBUI_STATUS,
  [LIBLIB_TEMPLATES.customImg2imgInpaint]: WEBUI_STATUS,
});

/** Where `statusEndpoint` may point an unlisted template. */
const STATUS_ENDPOINTS = { webui: WEBUI_STATUS, generate: GENERATE_STATUS } as const;

/**
 * A custom-model template: one the manual lists for the endpoint, or (the escape hatch) any UUID
 * together with `statusEndpoint`.
 */
function listedTemplate(listed: Readonly<Record<string, string>>, endpoint: string, sections: string) {
  return (
    v: { templateUuid?: string; statusEndpoint?: keyof typeof STATUS_ENDPOINTS },
    ctx: z.RefinementCtx,
  ) => {
    if (v.templateUuid === undefined) return;
    const status = listed[v.templateUuid.toLowerCase()];
    if (status === undefined && v.statusEndpoint === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['templateUuid'],
        message:
          `is not a template 002 lists for ${endpoint} (${sections}: ${Object.keys(listed).join(', ')}); ` +
          `to send a template the manual does not list, also set statusEndpoint ("webui" or "generate") ` +
          `to the status endpoint LiblibAI gives for it`,
      });
    } else if (
      status !== undefined &&
      v.statusEndpoint !== undefined &&
      STATUS_ENDPOINTS[v.statusEndpoint] !== status
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['statusEndpoint'],
        message: `template ${v.templateUuid} is polled on ${status} (002); leave statusEndpoint out`,
      });
    }
  };
}
/** The escape hatch's field; stripped before the request is sent. */
const statusEndpoint = z.enum(['webui', 'generate']).optional();

/** Sampler enum values (002 §7.5): 0–21, 24, 25, 27–30. */
export const LIBLIB_SAMPLERS: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 24, 25, 27, 28, 29, 30,
];
const sampler = z
  .number()
  .int()
  .refine((v) => LIBLIB_SAMPLERS.includes(v), 'must be a sampler from 002 §7.5 (0–21, 24, 25, 27–30)');

/** LoRA list, at most 5, weight −4…4 (002 §4.2.2). */
const additionalNetwork = z
  .array(z.object({ modelId: z.string().min(1), weight: num(-4, 4).optional() }).passthrough())
  .max(5, 'at most 5 LoRA models');

/** Hires fix (002 §4.2.3); upscaler enum 0–26 (002 §7.6). */
const hiResFixInfo = z
  .object({
    hiresSteps: int(1, 30).optional(),
    hiresDenoisingStrength: num(0, 1).optional(),
    upscaler: int(0, 26).optional(),
    resizedWidth: int(128, 2048).optional(),
    resizedHeight: int(128, 2048).optional(),
  })
  .passthrough();

/**
 * One ControlNet unit (002 §4.2.6). The table says `unitOrder` 1–4, while the manual's own F.1
 * examples (002 §4.4.2) send 0: we accept 0–4.
 */
const controlNetUnit = z
  .object({
    unitOrder: int(0, 4).optional(),
    sourceImage: image,
    width: int(1, 4096).optional(),
    height: int(1, 4096).optional(),
    preprocessor: z.number().int().min(0),
    annotationParameters: z.record(z.unknown()).optional(),
    model: z.string().min(1),
    controlWeight: num(0, 2).optional(),
    startingControlStep: num(0, 1).optional(),
    endingControlStep: num(0, 1).optional(),
    pixelPerfect: flag.optional(),
    controlMode: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    resizeMode: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    // The manual's example sends "" for "no mask".
    maskImage: z.string().optional(),
  })
  .passthrough();
const controlNet = z.array(controlNetUnit).max(4, 'at most 4 ControlNet units');

/** Fields shared by the custom-model endpoints (002 §4.2.1, §4.2.4). */
const customBase = {
  checkPointId: z.string().min(1).optional(),
  vaeId: z.string().optional(),
  prompt: prompt(),
  negativePrompt: z.string().max(2000, 'must be at most 2000 characters').optional(),
  clipSkip: int(1, 12).optional(),
  sampler: sampler.optional(),
  steps: int(1, 60).optional(),
  cfgScale: num(1, 15).optional(),
  imgCount: int(1, 4).optional(),
  randnSource: flag.optional(),
  seed: seed.optional(),
  restoreFaces: flag.optional(),
  additionalNetwork: additionalNetwork.optional(),
  controlNet: controlNet.optional(),
};

const KONTEXT_ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '9:16', '16:9', '9:21', '21:9'] as const;
const kontextBase = {
  model: z.enum(['pro', 'max']).optional(),
  prompt: prompt(),
  aspectRatio: z.enum(KONTEXT_ASPECT_RATIOS).optional(),
  imgCount: int(1, 4).optional(),
  guidance_scale: num(1, 20).optional(),
};

const img1Base = {
  prompt: prompt(),
  aspectRatio: z.enum(['auto', 'square', 'portrait', 'landscape']).optional(),
  imgCount: int(1, 4),
  quality: z.enum(['turbo', 'normal', 'masterpiece']).optional(),
};

/** Kling `duration` is a string of seconds; numbers 5 / 10 are accepted and sent as strings. */
const klingDuration = z
  .union([z.enum(['5', '10']), z.literal(5), z.literal(10)])
  .transform((v) => String(v) as '5' | '10');
const klingMode = z.enum(['std', 'pro']);
const klingAspectRatio = z.enum(['16:9', '9:16', '1:1']);
const klingSound = z.enum(['on', 'off']);

/** Seedream model ids (002 §9.5.2). */
export const SEEDREAM_MODELS = {
  v40: 'doubao-seedream-4-0-250828',
  v45: 'doubao-seedream-4-5-251128',
} as const;

// ---------------------------------------------------------------------------------------------
// Schemas

const star3Controlnet = z
  .object({
    // `subject` appears in the manual's F.1 subject-reference example (002 §3.3.2).
    controlType: z.enum(['line', 'depth', 'pose', 'IPAdapter', 'subject']),
    controlImage: image,
  })
  .passthrough();

const star3Text2img = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.star3Text2img),
    prompt: prompt(),
    aspectRatio: z.enum(['square', 'portrait', 'landscape']).optional(),
    imageSize: z
      .object({ width: int(512, 2048), height: int(512, 2048) })
      .passthrough()
      .optional(),
    imgCount: int(1, 4),
    steps: z.number().int().min(1).optional(),
    promptMagic: flag.optional(),
    controlnet: star3Controlnet.optional(),
  })
  .passthrough()
  // 002 §3.1.1: "aspectRatio 与 imageSize 二选一配置" (configure one of the two).
  .refine((v) => v.aspectRatio !== undefined || v.imageSize !== undefined, {
    message: 'set aspectRatio or imageSize',
    path: ['aspectRatio'],
  });

const star3Img2img = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.star3Img2img),
    prompt: prompt(),
    sourceImage: image,
    imgCount: int(1, 4),
    steps: z.number().int().min(1).optional(),
    promptMagic: flag.optional(),
    controlnet: star3Controlnet.optional(),
  })
  .passthrough();

/**
 * 002 disagrees about the prompt on `/api/generate/webui/text2img`: its tables (§4.2.1, §11.1.2)
 * mark it 是 (required), its examples on that path (§4.1.3.1, §4.4.2, §11.1.2) 选填 (optional).
 * Both readings are served: the prompt may be left out, and when given it is checked and sent. A
 * server that follows the tables answers 100000 naming it (`invalid_job`, no points spent), and
 * the user adds one.
 */
const text2imgPrompt = prompt().optional();

const isQwenTemplate = (template: string | undefined) =>
  template?.toLowerCase() === LIBLIB_TEMPLATES.qwenText2img;

const customText2img = z
  .object({
    templateUuid: uuid.optional(),
    statusEndpoint,
    ...customBase,
    prompt: text2imgPrompt,
    // 128–1536 (002 §4.2.1), 128–2048 with Qwen-Image's template (§11.1.2): see below.
    width: int(128, 2048).optional(),
    height: int(128, 2048).optional(),
    hiResFixInfo: hiResFixInfo.optional(),
  })
  .passthrough()
  .superRefine(
    listedTemplate(CUSTOM_TEXT2IMG_TEMPLATES, '/api/generate/webui/text2img', '§4.4.1, §4.4.2, §11.1'),
  )
  .superRefine((v, ctx) => {
    if (isQwenTemplate(v.templateUuid)) return;
    for (const field of ['width', 'height'] as const) {
      if ((v[field] ?? 0) > 1536) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: "must be at most 1536 (002 §4.2.1; 2048 with Qwen-Image's template, §11.1.2)",
        });
      }
    }
  })
  // Qwen-Image's template through this operation gets its one checkpoint, as qwen.text2img does.
  .transform((v) =>
    isQwenTemplate(v.templateUuid) && v.checkPointId === undefined
      ? { ...v, checkPointId: QWEN_IMAGE_CHECKPOINT }
      : v,
  );

const inpaintParam = z
  .object({
    maskImage: image,
    maskBlur: int(0, 64).optional(),
    maskPadding: int(0, 256).optional(),
    maskMode: flag.optional(),
    inpaintArea: flag.optional(),
    inpaintingFill: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
  })
  .passthrough();

const customImg2img = z
  .object({
    templateUuid: uuid.optional(),
    statusEndpoint,
    ...customBase,
    sourceImage: image,
    resizeMode: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    resizedWidth: int(128, 2048).optional(),
    resizedHeight: int(128, 2048).optional(),
    // 0 img2img, 4 inpaint with an uploaded mask (002 §4.2.4).
    mode: z.union([z.literal(0), z.literal(4)]).optional(),
    denoisingStrength: num(0, 1).optional(),
    inpaintParam: inpaintParam.optional(),
  })
  .passthrough()
  .refine((v) => v.mode !== 4 || v.inpaintParam !== undefined, {
    message: 'inpaintParam (with maskImage) is required when mode is 4 (002 §4.2.5)',
    path: ['inpaintParam'],
  })
  .superRefine(listedTemplate(CUSTOM_IMG2IMG_TEMPLATES, '/api/generate/webui/img2img', '§4.4.1'));

const kontextText2img = z
  .object({ templateUuid: fixedTemplate(LIBLIB_TEMPLATES.kontextText2img), ...kontextBase })
  .passthrough();

const kontextImg2img = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.kontextImg2img),
    ...kontextBase,
    image_list: images(1, 4),
  })
  .passthrough()
  // 002 §5.2.2: "pro：暂不支持多图参考" (pro has no multi-image reference yet).
  .refine((v) => v.model !== 'pro' || v.image_list.length === 1, {
    message: 'model pro takes exactly one reference image; use max for multi-reference',
    path: ['image_list'],
  });

const img1Generate = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.img1Generate),
    ...img1Base,
    image_list: images(1, 8).optional(),
  })
  .passthrough();

/** 002 §6.2.2: IMG1 inpaint takes an image and a mask of at most 4 MB each; the mask is a png. */
const IMG1_INPAINT_MAX_BYTES = 4 * 1024 * 1024;
const IMG1_INPAINT_LIMITS = {
  image: { maxBytes: IMG1_INPAINT_MAX_BYTES, source: '002 §6.2.2' },
  mask: { maxBytes: IMG1_INPAINT_MAX_BYTES, formats: ['png'], source: '002 §6.2.2' },
} as const satisfies Record<string, LiblibImageLimit>;

/**
 * False for an inline image recognizably another format than PNG (JPEG, WebP, GIF); true for a
 * PNG, a URL, a path, or bytes the upload will judge (it refuses what it cannot recognize).
 */
function inlineIsPngOrNotInline(value: string): boolean {
  if (inlineImageBytes(value) === undefined) return true;
  const trimmed = value.trim();
  const payload = (/^data:/i.test(trimmed) ? trimmed.slice(trimmed.indexOf(',') + 1) : trimmed).replace(
    /\s+/g,
    '',
  );
  // 16 base64 characters are the 12 bytes the longest signature (RIFF....WEBP) needs.
  const head = Buffer.from(payload.slice(0, 16), /[-_]/.test(payload) ? 'base64url' : 'base64');
  const type = sniff(head);
  return type === undefined || type === 'png';
}

const img1Inpaint = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.img1Inpaint),
    ...img1Base,
    image: inlineAtMost(IMG1_INPAINT_MAX_BYTES, '002 §6.2.2'),
    // The mask is a png, white on black (002 §6.2.2); the provider checks the picture.
    mask: inlineAtMost(IMG1_INPAINT_MAX_BYTES, '002 §6.2.2').refine(inlineIsPngOrNotInline, {
      message: 'must be a PNG (002 §6.2.2)',
    }),
  })
  .passthrough();

const libDream = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.libDream),
    prompt: prompt(),
    usePreLlm: z.boolean().optional(),
    width: int(512, 3072).optional(),
    height: int(512, 3072).optional(),
    imgCount: int(1, 4).optional(),
    scale: num(1, 10).optional(),
    seed: seed.optional(),
  })
  .passthrough()
  // 002 §9.1.2: width × height must not exceed 2048 × 2048 (defaults 1328 × 1328).
  .refine((v) => (v.width ?? 1328) * (v.height ?? 1328) <= 2048 * 2048, {
    message: 'width × height must not exceed 2048 × 2048',
    path: ['width'],
  });

const libEditBase = {
  prompt: prompt(),
  promptMagic: flag.optional(),
  // "需输入1张图片": exactly one image.
  image_urls: images(1, 1),
  scale: num(0, 1).optional(),
  imgCount: int(1, 4).optional(),
  seed: seed.optional(),
};

const libEdit = z
  .object({ templateUuid: fixedTemplate(LIBLIB_TEMPLATES.libEdit), ...libEditBase })
  .passthrough();

const libEditV2 = z
  .object({
    // 002 §9.3.1's table and §9.3's example give different UUIDs: both are accepted.
    templateUuid: z.enum([LIBLIB_TEMPLATES.libEditV2, LIBLIB_TEMPLATES.libEditV2Table]).optional(),
    ...libEditBase,
    width: int(512, 2016).optional(),
    height: int(512, 2016).optional(),
  })
  .passthrough();

/**
 * Seedream 4.0 / 4.5 (002 §9.4, §9.5), one endpoint, `model` picks the version (default 4.0).
 *
 * 4.5 (§9.5.2): total pixels within [3,686,400, 16,777,216] (2560×1440 to 4096×4096) and width /
 * height within [1/16, 16]; no bound per side, so 6144×2048 is valid. Up to 14 reference images.
 *
 * 4.0: the manual disagrees with itself. §9.4.2 says each side 1024–4096 with
 * 1024×1024 ≤ w×h ≤ 4096×4096; §9.5.2 says each side 512–4096 with w×h ≤ 2048×2048. We take each
 * bound from the reading that allows more where the other is silent or looser (each side 512–4096,
 * w×h ≤ 4096×4096), and §9.4's minimum total of 1024×1024 pixels, which §9.5 does not contradict
 * for sizes it also allows (512×2048 passes both). Up to 10 reference images.
 *
 * Both: width and height default to 2048; reference images + imgCount ≤ 15.
 */
const seedream = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.seedream),
    model: z.enum([SEEDREAM_MODELS.v40, SEEDREAM_MODELS.v45]).optional(),
    prompt: prompt(),
    promptMagic: flag.optional(),
    sequentialImageGeneration: z.enum(['disabled', 'auto']).optional(),
    width: z.number().int().min(1).optional(),
    height: z.number().int().min(1).optional(),
    imgCount: int(1, 15).optional(),
    referenceImages: images(1, 14).optional(),
  })
  .passthrough()
  .superRefine((v, ctx) => {
    const is45 = v.model === SEEDREAM_MODELS.v45;
    const refs = v.referenceImages?.length ?? 0;
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (!is45 && refs > 10) issue('referenceImages', 'Seedream 4.0 takes at most 10 reference images');
    // "输入的参考图数量+最终生成的图片数量≤15张"
    if (refs + (v.imgCount ?? 1) > 15) issue('imgCount', 'reference images + imgCount must not exceed 15');
    const width = v.width ?? 2048;
    const height = v.height ?? 2048;
    const pixels = width * height;
    if (is45) {
      if (pixels < 3_686_400 || pixels > 16_777_216) {
        issue(
          'width',
          'Seedream 4.5 needs width × height between 3,686,400 (2560×1440) and 16,777,216 (4096×4096) (002 §9.5.2)',
        );
      }
      if (width / height > 16 || height / width > 16) {
        issue('width', 'Seedream 4.5 needs width / height within [1/16, 16] (002 §9.5.2)');
      }
      return;
    }
    for (const [field, side] of [
      ['width', width],
      ['height', height],
    ] as const) {
      if (side < 512 || side > 4096)
        issue(field, 'Seedream 4.0 takes 512–4096 per side (002 §9.4.2, §9.5.2)');
    }
    if (pixels < 1024 * 1024 || pixels > 4096 * 4096) {
      issue('width', 'Seedream 4.0 needs width × height between 1024×1024 and 4096×4096 (002 §9.4.2)');
    }
  });

const comfyui = z
  .object({
    templateUuid: anyTemplate,
    // The workflow's version UUID, from its "API" panel on liblib.art (002 §8.1).
    workflowUuid: uuid,
  })
  .passthrough();

const KLING_TEXT2VIDEO_MODELS = [
  'kling-v1-6',
  'kling-v2-master',
  'kling-v2-1-master',
  'kling-v2-5-turbo',
  'kling-v2-6',
] as const;
// 002 §10.2.2's table lists v1-6, v2-master, v2-1-master, v2-1 and v2-5-turbo; its kling-v2-6
// example (and the 2025.12.21 changelog) adds kling-v2-6.
const KLING_IMG2VIDEO_MODELS = [
  'kling-v1-6',
  'kling-v2-master',
  'kling-v2-1-master',
  'kling-v2-1',
  'kling-v2-5-turbo',
  'kling-v2-6',
] as const;

const klingText2video = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.klingText2video),
    model: z.enum(KLING_TEXT2VIDEO_MODELS).optional(),
    prompt: prompt(2500),
    promptMagic: flag.optional(),
    aspectRatio: klingAspectRatio.optional(),
    duration: klingDuration.optional(),
    mode: klingMode.optional(),
    sound: klingSound.optional(),
  })
  .passthrough()
  .superRefine((v, ctx) => {
    // 002 §10.1.2: at most 2000 characters, 2500 for kling-v2-6.
    if (v.model !== 'kling-v2-6' && v.prompt.length > 2000) {
      ctx.addIssue({
        code: 'custom',
        path: ['prompt'],
        message: 'must be at most 2000 characters (2500 for kling-v2-6)',
      });
    }
    if (v.model === 'kling-v2-5-turbo' && v.mode !== 'pro') {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'kling-v2-5-turbo requires mode "pro"' });
    }
  });

const klingImg2video = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.klingImg2video),
    model: z.enum(KLING_IMG2VIDEO_MODELS).optional(),
    prompt: prompt(),
    promptMagic: flag.optional(),
    startFrame: image.optional(),
    endFrame: image.optional(),
    // 002 §10.2.2: kling-v2-6's reference image is `image` (a string) in the table, `images: [url]`
    // in the example. Both spellings are accepted; the example's is sent (see the transform below).
    image: image.optional(),
    images: images(1, 1).optional(),
    mode: klingMode.optional(),
    duration: klingDuration.optional(),
    sound: klingSound.optional(),
  })
  .passthrough()
  .superRefine((v, ctx) => {
    if (v.model === 'kling-v2-6') {
      if (v.image === undefined && v.images === undefined) {
        ctx.addIssue({ code: 'custom', path: ['image'], message: 'kling-v2-6 requires image' });
      }
      return;
    }
    if (v.startFrame === undefined && v.endFrame === undefined) {
      ctx.addIssue({ code: 'custom', path: ['startFrame'], message: 'set startFrame or endFrame (or both)' });
    }
    if (v.endFrame !== undefined) {
      // 002 §10.2.2: only kling-v1-6 takes an end frame, and then mode must be pro.
      if (v.model !== 'kling-v1-6') {
        ctx.addIssue({ code: 'custom', path: ['endFrame'], message: 'endFrame needs model "kling-v1-6"' });
      }
      if (v.mode !== 'pro') {
        ctx.addIssue({ code: 'custom', path: ['mode'], message: 'endFrame requires mode "pro"' });
      }
    }
    if (v.model === 'kling-v2-5-turbo' && v.mode !== 'pro') {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'kling-v2-5-turbo requires mode "pro"' });
    }
  })
  .superRefine((v, ctx) => {
    if (v.image !== undefined && v.images !== undefined && v.images[0] !== v.image) {
      ctx.addIssue({
        code: 'custom',
        path: ['image'],
        message: 'set image or images, not two different images',
      });
    }
  })
  .transform(({ image: single, ...rest }) =>
    single === undefined ? rest : { ...rest, images: rest.images ?? [single] },
  );

const klingMultiImg2video = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.klingMultiImg2video),
    model: z.enum(['kling-v1-6']).optional(),
    prompt: prompt(),
    promptMagic: flag.optional(),
    // 002 §10.3.2 gives no maximum number of reference images: the provider decides.
    referenceImages: z.array(image).min(1, 'must hold at least 1 image(s)'),
    mode: klingMode.optional(),
    aspectRatio: klingAspectRatio.optional(),
    duration: klingDuration.optional(),
  })
  .passthrough();

const qwenText2img = z
  .object({
    templateUuid: fixedTemplate(LIBLIB_TEMPLATES.qwenText2img),
    ...customBase,
    prompt: text2imgPrompt,
    // The manual lists one checkpoint and marks it required: default to it.
    checkPointId: z.string().min(1).default(QWEN_IMAGE_CHECKPOINT),
    width: int(128, 2048).optional(),
    height: int(128, 2048).optional(),
  })
  .passthrough();

const modelVersion = z.object({ versionUuid: uuid }).passthrough();

// ---------------------------------------------------------------------------------------------
// Catalog

const CONTROL_NET_IMAGES = ['controlNet[].sourceImage', 'controlNet[].maskImage'] as const;

/** Every LiblibAI operation, by dotted name. */
export const LIBLIB_OPERATIONS: Readonly<Record<string, LiblibOperation>> = Object.freeze({
  'star3.text2img': {
    path: '/api/generate/webui/text2img/ultra',
    templateUuid: LIBLIB_TEMPLATES.star3Text2img,
    statusPath: LIBLIB_STATUS_PATHS.webui,
    schema: star3Text2img,
    output: 'image',
    description: 'Star-3 Alpha text to image (002 §3.1.1)',
    imageFields: ['controlnet.controlImage'],
  },
  'star3.img2img': {
    path: '/api/generate/webui/img2img/ultra',
    templateUuid: LIBLIB_TEMPLATES.star3Img2img,
    statusPath: LIBLIB_STATUS_PATHS.webui,
    schema: star3Img2img,
    output: 'image',
    description: 'Star-3 Alpha image to image (002 §3.1.2)',
    imageFields: ['sourceImage', 'controlnet.controlImage'],
  },
  'custom.text2img': {
    path: '/api/generate/webui/text2img',
    templateUuid: LIBLIB_TEMPLATES.customF1Text2img,
    statusPath: LIBLIB_STATUS_PATHS.webui,
    templates: CUSTOM_TEXT2IMG_TEMPLATES,
    schema: customText2img,
    output: 'image',
    description:
      'Custom model text to image: F.1 by default, 1.5 / XL with templateUuid e10adc…; LoRA, ControlNet, hires fix (002 §4.1.3)',
    imageFields: [...CONTROL_NET_IMAGES],
  },
  'custom.img2img': {
    path: '/api/generate/webui/img2img',
    templateUuid: LIBLIB_TEMPLATES.customF1Img2img,
    statusPath: LIBLIB_STATUS_PATHS.webui,
    templates: CUSTOM_IMG2IMG_TEMPLATES,
    schema: customImg2img,
    output: 'image',
    description:
      'Custom model image to image and inpaint (mode 4): F.1 by default, 1.5 / XL with templateUuid 9c7d53… (002 §4.1.4)',
    imageFields: ['sourceImage', 'inpaintParam.maskImage', ...CONTROL_NET_IMAGES],
  },
  'kontext.text2img': {
    path: '/api/generate/kontext/text2img',
    templateUuid: LIBLIB_TEMPLATES.kontextText2img,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: kontextText2img,
    output: 'image',
    description: 'F.1 Kontext text to image (002 §5.1)',
    imageFields: [],
  },
  'kontext.img2img': {
    path: '/api/generate/kontext/img2img',
    templateUuid: LIBLIB_TEMPLATES.kontextImg2img,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: kontextImg2img,
    output: 'image',
    description: 'F.1 Kontext image edit and multi-reference, 1–4 images in image_list (002 §5.2)',
    imageFields: ['image_list[]'],
  },
  'img1.generate': {
    path: '/api/generate/smart-img1/generate',
    templateUuid: LIBLIB_TEMPLATES.img1Generate,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: img1Generate,
    output: 'image',
    description: 'IMG1 generate, with up to 8 reference images (002 §6.1)',
    imageFields: ['image_list[]'],
  },
  'img1.inpaint': {
    path: '/api/generate/smart-img1/inpaint',
    templateUuid: LIBLIB_TEMPLATES.img1Inpaint,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: img1Inpaint,
    output: 'image',
    description: 'IMG1 inpaint: image plus a white-on-black mask (002 §6.2)',
    imageFields: ['image', 'mask'],
    imageLimits: IMG1_INPAINT_LIMITS,
  },
  'libdream.text2img': {
    path: '/api/generate/libDream',
    templateUuid: LIBLIB_TEMPLATES.libDream,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: libDream,
    output: 'image',
    description: 'libDream text to image (002 §9.1)',
    imageFields: [],
  },
  'libedit.img2img': {
    path: '/api/generate/libEdit',
    templateUuid: LIBLIB_TEMPLATES.libEdit,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: libEdit,
    output: 'image',
    description: 'libEdit instruction edit of one image (002 §9.2)',
    imageFields: ['image_urls[]'],
  },
  'libeditv2.img2img': {
    path: '/api/generate/libEditV2',
    templateUuid: LIBLIB_TEMPLATES.libEditV2,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: libEditV2,
    output: 'image',
    description: 'libEditV2 instruction edit of one image, with output size (002 §9.3)',
    imageFields: ['image_urls[]'],
  },
  'seedream.generate': {
    path: '/api/generate/seedreamV4',
    templateUuid: LIBLIB_TEMPLATES.seedream,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: seedream,
    output: 'image',
    description: 'Seedream 4.0 / 4.5 text or reference images to image(s), group mode (002 §9.4, §9.5)',
    imageFields: ['referenceImages[]'],
  },
  'comfyui.run': {
    path: '/api/generate/comfyui/app',
    templateUuid: LIBLIB_TEMPLATES.comfyui,
    statusPath: LIBLIB_STATUS_PATHS.comfy,
    schema: comfyui,
    output: 'image',
    description: 'Run a published ComfyUI workflow (workflowUuid plus node inputs by node id) (002 §8.1)',
    // LoadImage nodes carry their image in `inputs.image` (002 §8.1 examples).
    imageFields: ['*.inputs.image'],
  },
  'kling.text2video': {
    path: '/api/generate/video/kling/text2video',
    templateUuid: LIBLIB_TEMPLATES.klingText2video,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: klingText2video,
    output: 'video',
    description: 'Kling text to video (002 §10.1)',
    imageFields: [],
  },
  'kling.img2video': {
    path: '/api/generate/video/kling/img2video',
    templateUuid: LIBLIB_TEMPLATES.klingImg2video,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: klingImg2video,
    output: 'video',
    description: 'Kling image to video from a start and/or end frame (002 §10.2)',
    imageFields: ['startFrame', 'endFrame', 'image', 'images[]'],
  },
  'kling.multiimg2video': {
    path: '/api/generate/video/kling/multiImg2video',
    templateUuid: LIBLIB_TEMPLATES.klingMultiImg2video,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: klingMultiImg2video,
    output: 'video',
    description: 'Kling multi-image reference to video (002 §10.3)',
    imageFields: ['referenceImages[]'],
  },
  'qwen.text2img': {
    path: '/api/generate/webui/text2img',
    templateUuid: LIBLIB_TEMPLATES.qwenText2img,
    statusPath: LIBLIB_STATUS_PATHS.generate,
    schema: qwenText2img,
    output: 'image',
    description: 'Qwen-Image text to image (002 §11.1)',
    imageFields: [...CONTROL_NET_IMAGES],
  },
  'model.version': {
    path: '/api/model/version/get',
    schema: modelVersion,
    output: 'data',
    description: 'Look up a model version by versionUuid; not a generation (002 §4.1.1)',
    imageFields: [],
  },
} satisfies Record<string, LiblibOperation>);

/**
 * The status endpoint of a task submitted with `input` (already parsed): the one the manual gives
 * for its template, or the escape hatch's `statusEndpoint`, or the operation's default.
 */
export function liblibStatusPath(op: LiblibOperation, input: Record<string, unknown>): string | undefined {
  const template = typeof input.templateUuid === 'string' ? input.templateUuid.toLowerCase() : undefined;
  const listed = template === undefined ? undefined : op.templates?.[template];
  if (listed !== undefined) return listed;
  const hatch = input.statusEndpoint;
  if (hatch === 'webui' || hatch === 'generate') return STATUS_ENDPOINTS[hatch];
  return op.statusPath;
}

/** Names of the operations that create a task (everything but `model.version`). */
export const LIBLIB_GENERATION_OPERATIONS: readonly string[] = Object.keys(LIBLIB_OPERATIONS).filter(
  (name) => LIBLIB_OPERATIONS[name]!.statusPath !== undefined,
);
