/**
 * Per-endpoint parameter rules of the LiblibAI mode, each written from 002's parameter table of
 * that endpoint (the section is quoted beside each rule), not from genqueue's client schemas.
 * Where the manual gives no bound, none is checked: the simulator accepts what the client might
 * wrongly refuse. A rule answers the problems it finds; the mode answers them as code 100000.
 *
 * Required fields: the tables' 必填 column is followed, except on the custom-model endpoints
 * (`/api/generate/webui/text2img`, `/api/generate/webui/img2img`), where it marks nearly every
 * field 是 while 002 §4.4 says a template needs "only the necessary parameters"
 * (您可以只提供必要的生图参数) and its own examples (§4.1.3.1, §4.4.2, §11.1.2) leave most of them
 * out. There only the fields every example sends and the endpoint cannot work without are
 * required: the source image, a ControlNet unit's image, preprocessor and model, the mask when
 * `mode` is 4, and Qwen-Image's one checkpoint.
 */

type Params = Record<string, unknown>;
/** Problems with `params` sent on one path with `template` (already known to be listed for it). */
type Rule = (params: Params, template: string) => string[];

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObject = (v: unknown): v is Params => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUrl = (v: unknown): boolean => typeof v === 'string' && /^https?:\/\//.test(v);

/** Collects problems for one object of parameters; `prefix` names nested fields (`controlNet[0].`). */
class Check {
  readonly problems: string[] = [];
  constructor(
    private readonly params: Params,
    private readonly prefix = '',
  ) {}

  private add(ok: boolean, message: string): this {
    if (!ok) this.problems.push(`${this.prefix}${message}`);
    return this;
  }
  /** The field must be present. */
  required(field: string): this {
    return this.add(this.params[field] !== undefined, `${field} is required`);
  }
  /** An optional value from an enum. */
  oneOf(field: string, values: readonly unknown[]): this {
    const v = this.params[field];
    return this.add(v === undefined || values.includes(v), `${field} must be one of ${values.join(', ')}`);
  }
  /** An integer in [min, max]; `required` when the table says 是. */
  int(field: string, min: number, max: number, required = false): this {
    const v = this.params[field];
    if (v === undefined) return this.add(!required, `${field} is required`);
    return this.add(isInt(v) && v >= min && v <= max, `${field} must be an integer in ${min}–${max}`);
  }
  /** A number in [min, max]. */
  num(field: string, min: number, max: number): this {
    const v = this.params[field];
    return this.add(
      v === undefined || (typeof v === 'number' && v >= min && v <= max),
      `${field} must be a number in ${min}–${max}`,
    );
  }
  /** An optional string of at most `max` characters (no bound when `max` is undefined). */
  str(field: string, max?: number): this {
    const v = this.params[field];
    return this.add(
      v === undefined || (typeof v === 'string' && (max === undefined || v.length <= max)),
      max === undefined
        ? `${field} must be a string`
        : `${field} must be a string of at most ${max} characters`,
    );
  }
  /** A list of public URLs, `min`–`max` long (max undefined: the manual gives none). */
  urls(field: string, min: number, max?: number, required = false): this {
    const v = this.params[field];
    if (v === undefined) return this.add(!required, `${field} is required`);
    const ok =
      Array.isArray(v) &&
      v.length >= min &&
      (max === undefined || v.length <= max) &&
      v.every((u) => isUrl(u));
    return this.add(ok, `${field} must hold ${min}${max === undefined ? '+' : `–${max}`} public image URLs`);
  }
  /** A public URL. */
  url(field: string, required = false): this {
    const v = this.params[field];
    if (v === undefined) return this.add(!required, `${field} is required (a public image URL)`);
    return this.add(isUrl(v), `${field} must be a public image URL`);
  }
  /** A prompt of at most `max` characters. */
  promptAtMost(max: number): this {
    const v = this.params.prompt;
    return this.add(typeof v !== 'string' || v.length <= max, `prompt is over ${max} characters`);
  }
  /** An optional object, checked by `inner`. */
  object(field: string, inner: (c: Check, value: Params) => void, required = false): this {
    const v = this.params[field];
    if (v === undefined) return this.add(!required, `${field} is required`);
    if (!isObject(v)) return this.add(false, `${field} must be an object`);
    const c = new Check(v, `${this.prefix}${field}.`);
    inner(c, v);
    this.problems.push(...c.problems);
    return this;
  }
  /** An optional list of at most `max` objects, each checked by `inner`. */
  objects(field: string, max: number, inner: (c: Check, value: Params) => void): this {
    const v = this.params[field];
    if (v === undefined) return this;
    if (!Array.isArray(v)) return this.add(false, `${field} must be a list`);
    this.add(v.length <= max, `${field} holds at most ${max} entries`);
    v.forEach((item, n) => {
      if (!isObject(item)) {
        this.add(false, `${field}[${n}] must be an object`);
        return;
      }
      const c = new Check(item, `${this.prefix}${field}[${n}].`);
      inner(c, item);
      this.problems.push(...c.problems);
    });
    return this;
  }
  when(ok: boolean, message: string): this {
    return this.add(ok, message);
  }
}

const check = (params: Params) => new Check(params);
const FLAG = [0, 1];
const SEED = [-1, 9_999_999_999] as const;
const IMG1_RATIOS = ['auto', 'square', 'portrait', 'landscape'];
const IMG1_QUALITY = ['turbo', 'normal', 'masterpiece'];
const KLING_RATIOS = ['16:9', '9:16', '1:1'];
const KLING_DURATIONS = ['5', '10', 5, 10];
const KLING_MODES = ['std', 'pro'];
const SOUND = ['on', 'off'];
const SEEDREAM_40 = 'doubao-seedream-4-0-250828';
const SEEDREAM_45 = 'doubao-seedream-4-5-251128';
const KONTEXT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '9:16', '16:9', '9:21', '21:9'];
export const QWEN_TEMPLATE = 'bf085132c7134622895b783b520b39ff';
/** 002 §11.1.2: "Qwen-Image: 75e0be0c93b34dd8baeec9c968013e0c", the only checkpoint listed. */
const QWEN_CHECKPOINT = '75e0be0c93b34dd8baeec9c968013e0c';
/** 002 §7.5 采样方法: Euler a 0 … DPM++ 2M SDE EXPONENTIAL 21, then 24, 25, 27, 28, Restart 29, LCM 30. */
const SAMPLERS = [...Array.from({ length: 22 }, (_v, n) => n), 24, 25, 27, 28, 29, 30];
/** 002 §7.6 放大算法模型: Latent 0 … 4x-DeCompress Strong 26. */
const UPSCALERS = Array.from({ length: 27 }, (_v, n) => n);
/**
 * 002 §3.1.1 / §3.1.2 controlnet.controlType: line, depth, pose, IPAdapter; §3.3.2's F.1
 * subject-reference example on the same endpoint sends `subject`.
 */
const STAR3_CONTROL_TYPES = ['line', 'depth', 'pose', 'IPAdapter', 'subject'];

/** 002 §3.1.1 / §3.1.2 controlnet: controlType from the list, controlImage a public URL. */
const star3Controlnet = (c: Check) =>
  c.required('controlType').oneOf('controlType', STAR3_CONTROL_TYPES).url('controlImage', true);

/**
 * 002 §4.2.6 ① one ControlNet unit (at most 4, §4.1.4.1 "最多4组"). `unitOrder` is 1–4 in the
 * table and 0 in every §4.4.2 example: 0–4. sourceImage, preprocessor and model are in every
 * example; the other 是 fields are left out by none of them but have the table's defaults.
 */
const controlNetUnit = (c: Check) =>
  c
    .int('unitOrder', 0, 4)
    .url('sourceImage', true)
    .int('width', 1, 4096)
    .int('height', 1, 4096)
    .int('preprocessor', 0, Number.MAX_SAFE_INTEGER, true)
    .object('annotationParameters', () => {})
    .required('model')
    .str('model')
    .num('controlWeight', 0, 2)
    .num('startingControlStep', 0, 1)
    .num('endingControlStep', 0, 1)
    .oneOf('pixelPerfect', FLAG)
    .oneOf('controlMode', [0, 1, 2])
    .oneOf('resizeMode', [0, 1, 2])
    // "蒙版图url"; the §4.1.4.1 example sends "" for none.
    .str('maskImage');

/** 002 §4.2.2 additionalNetwork: at most 5 LoRAs (§4.1.3.1 "最多5个"), weight −4.00…+4.00. */
const lora = (c: Check) => c.str('modelId').num('weight', -4, 4);

/**
 * 002 §4.2.1 / §4.2.4, the fields both custom-model endpoints share: negativePrompt ≤ 2000,
 * clipSkip 1–12, sampler from §7.5, steps 1–60, cfgScale 1.0–15.0, imgCount 1–4, randnSource 0/1,
 * seed −1…9999999999, restoreFaces 0/1, LoRAs and ControlNet units.
 */
const customBase = (p: Params) =>
  check(p)
    .promptAtMost(2000)
    .str('checkPointId')
    .str('vaeId')
    .str('negativePrompt', 2000)
    .int('clipSkip', 1, 12)
    .oneOf('sampler', SAMPLERS)
    .int('steps', 1, 60)
    .num('cfgScale', 1, 15)
    .int('imgCount', 1, 4)
    .oneOf('randnSource', FLAG)
    .int('seed', ...SEED)
    .oneOf('restoreFaces', FLAG)
    .objects('additionalNetwork', 5, lora)
    .objects('controlNet', 4, controlNetUnit);

/**
 * 002 §11.1.2 Qwen-Image: checkPointId 是 (its one checkpoint), negativePrompt ≤ 2000, clipSkip
 * 1–12, sampler, steps 1–60, cfgScale 1.0–15.0, width 128–2048, imgCount 1–4, randnSource, seed,
 * LoRAs, ControlNet. The height row's range cell is empty: only its type is checked. No hires fix
 * or restoreFaces row: not checked.
 */
const qwenText2img = (p: Params) =>
  check(p)
    .promptAtMost(2000)
    .when(p.checkPointId === QWEN_CHECKPOINT, `checkPointId is required: ${QWEN_CHECKPOINT} (Qwen-Image)`)
    .str('negativePrompt', 2000)
    .int('clipSkip', 1, 12)
    .oneOf('sampler', SAMPLERS)
    .int('steps', 1, 60)
    .num('cfgScale', 1, 15)
    .int('width', 128, 2048)
    .int('height', 1, Number.MAX_SAFE_INTEGER)
    .int('imgCount', 1, 4)
    .oneOf('randnSource', FLAG)
    .int('seed', ...SEED)
    .objects('additionalNetwork', 5, lora)
    .objects('controlNet', 4, controlNetUnit).problems;

/**
 * 002 §9.2.2 libEdit (and §9.3.2 libEditV2): prompt ≤ 2000, promptMagic 0/1, image_urls 是 and
 * "需输入1张图片" (exactly one), scale 0–1, imgCount 1–4, seed −1…9999999999.
 */
const libEdit = (p: Params) =>
  check(p)
    .promptAtMost(2000)
    .oneOf('promptMagic', FLAG)
    .urls('image_urls', 1, 1, true)
    .num('scale', 0, 1)
    .int('imgCount', 1, 4)
    .int('seed', ...SEED);

/** 002 §5.1.2 / §5.2.2 Kontext: model pro|max, prompt ≤ 2000, aspectRatio, imgCount 1–4, guidance_scale 1.0–20.0. */
const kontext = (p: Params) =>
  check(p)
    .oneOf('model', ['pro', 'max'])
    .promptAtMost(2000)
    .oneOf('aspectRatio', KONTEXT_RATIOS)
    .int('imgCount', 1, 4)
    .num('guidance_scale', 1, 20);

/** Rules by submission path; every submission path of the mode has one. */
export const LIBLIB_PARAM_RULES: Readonly<Record<string, Rule>> = {
  // 002 §3.1.1 Star-3 Alpha text→image: prompt ≤ 2000 (是); aspectRatio square|portrait|landscape
  // or imageSize {width, height 512–2048}, "二选一配置" (one of the two; the example sends both);
  // imgCount 1–4 (是); controlnet. No range is given for the example's steps.
  '/api/generate/webui/text2img/ultra': (p) =>
    check(p)
      .promptAtMost(2000)
      .oneOf('aspectRatio', ['square', 'portrait', 'landscape'])
      .object('imageSize', (c) => c.int('width', 512, 2048, true).int('height', 512, 2048, true))
      .when(p.aspectRatio !== undefined || p.imageSize !== undefined, 'aspectRatio or imageSize is required')
      .int('imgCount', 1, 4, true)
      .oneOf('promptMagic', FLAG)
      .object('controlnet', star3Controlnet).problems,
  // 002 §3.1.2 Star-3 Alpha image→image: prompt ≤ 2000 (是), sourceImage a public URL (是),
  // imgCount 1–4 (是), controlnet.
  '/api/generate/webui/img2img/ultra': (p) =>
    check(p)
      .promptAtMost(2000)
      .url('sourceImage', true)
      .int('imgCount', 1, 4, true)
      .oneOf('promptMagic', FLAG)
      .object('controlnet', star3Controlnet).problems,
  // 002 §4.2.1 custom text→image: the shared fields, width / height 128–1536, hiResFixInfo
  // (§4.2.3: hiresSteps 1–30, hiresDenoisingStrength 0–1, upscaler from §7.6, resized 128–2048).
  // Qwen-Image's template on this path follows its own table (§11.1.2).
  '/api/generate/webui/text2img': (p, template) =>
    template === QWEN_TEMPLATE
      ? qwenText2img(p)
      : customBase(p)
          .int('width', 128, 1536)
          .int('height', 128, 1536)
          .object('hiResFixInfo', (c) =>
            c
              .int('hiresSteps', 1, 30)
              .num('hiresDenoisingStrength', 0, 1)
              .oneOf('upscaler', UPSCALERS)
              .int('resizedWidth', 128, 2048)
              .int('resizedHeight', 128, 2048),
          ).problems,
  // 002 §4.2.4 custom image→image: the shared fields, sourceImage a public URL (是), resizeMode
  // 0–2, resizedWidth / resizedHeight 128–2048, mode 0 (img2img) | 4 (inpaint), denoisingStrength
  // 0–1; inpaintParam "mode=4时必填" (§4.2.5: maskImage a URL, maskBlur 0–64, maskPadding 0–256,
  // maskMode 0/1, inpaintArea 0/1, inpaintingFill 0–3).
  '/api/generate/webui/img2img': (p) =>
    customBase(p)
      .url('sourceImage', true)
      .oneOf('resizeMode', [0, 1, 2])
      .int('resizedWidth', 128, 2048)
      .int('resizedHeight', 128, 2048)
      .oneOf('mode', [0, 4])
      .num('denoisingStrength', 0, 1)
      .object(
        'inpaintParam',
        (c) =>
          c
            .url('maskImage', true)
            .int('maskBlur', 0, 64)
            .int('maskPadding', 0, 256)
            .oneOf('maskMode', FLAG)
            .oneOf('inpaintArea', FLAG)
            .oneOf('inpaintingFill', [0, 1, 2, 3]),
        p.mode === 4,
      ).problems,
  '/api/generate/kontext/text2img': (p) => kontext(p).problems,
  // 002 §5.2.2: image_list 是, 1–4 public URLs; "pro：暂不支持多图参考" (pro: no multi-image reference).
  '/api/generate/kontext/img2img': (p) =>
    kontext(p)
      .urls('image_list', 1, 4, true)
      .when(
        p.model !== 'pro' || !Array.isArray(p.image_list) || p.image_list.length <= 1,
        'pro does not take multiple references',
      ).problems,
  // 002 §6.1.2: prompt ≤ 2000 (required), aspectRatio enum, imgCount 1–4 (required), quality enum,
  // image_list 1–8 URLs.
  '/api/generate/smart-img1/generate': (p) =>
    check(p)
      .promptAtMost(2000)
      .oneOf('aspectRatio', IMG1_RATIOS)
      .int('imgCount', 1, 4, true)
      .oneOf('quality', IMG1_QUALITY)
      .urls('image_list', 1, 8).problems,
  // 002 §6.2.2: as generate, plus image and mask (both required URLs; ≤ 4 MB is the provider's
  // download check, not visible here).
  '/api/generate/smart-img1/inpaint': (p) =>
    check(p)
      .promptAtMost(2000)
      .oneOf('aspectRatio', IMG1_RATIOS)
      .int('imgCount', 1, 4, true)
      .oneOf('quality', IMG1_QUALITY)
      .url('mask', true)
      .url('image', true).problems,
  // 002 §9.1.2: width/height 512–3072 with w×h ≤ 2048², imgCount 1–4, scale 1–10, seed −1…9999999999.
  '/api/generate/libDream': (p) => {
    const c = check(p)
      .promptAtMost(2000)
      .int('width', 512, 3072)
      .int('height', 512, 3072)
      .int('imgCount', 1, 4)
      .num('scale', 1, 10)
      .int('seed', ...SEED)
      .when(p.usePreLlm === undefined || typeof p.usePreLlm === 'boolean', 'usePreLlm must be a boolean');
    const w = isInt(p.width) ? p.width : 1328;
    const h = isInt(p.height) ? p.height : 1328;
    return c.when(w * h <= 2048 * 2048, 'width × height must not exceed 2048 × 2048').problems;
  },
  '/api/generate/libEdit': (p) => libEdit(p).problems,
  // 002 §9.3.2: libEdit's fields plus width / height 512–2016 ("需同时传width和height才会生效":
  // one alone is ignored, not refused).
  '/api/generate/libEditV2': (p) => libEdit(p).int('width', 512, 2016).int('height', 512, 2016).problems,
  // 002 §9.4.2 / §9.5.2. 4.5: total pixels 3,686,400–16,777,216 and ratio 1/16–16, no bound per
  // side; up to 14 references. 4.0: the two sections disagree (§9.4: sides 1024–4096,
  // 1024² ≤ w×h ≤ 4096²; §9.5: sides 512–4096, w×h ≤ 2048²): a server following either reading
  // is simulated by accepting what either allows (sides 512–4096, w×h ≤ 4096²) and §9.4's pixel
  // minimum, which §9.5 does not lift. References + imgCount ≤ 15.
  '/api/generate/seedreamV4': (p) => {
    const model = p.model ?? SEEDREAM_40;
    const c = check(p)
      .promptAtMost(2000)
      .oneOf('model', [SEEDREAM_40, SEEDREAM_45])
      .oneOf('sequentialImageGeneration', ['disabled', 'auto'])
      .oneOf('promptMagic', FLAG)
      .int('imgCount', 1, 15)
      .urls('referenceImages', 1, model === SEEDREAM_45 ? 14 : 10);
    const w = p.width ?? 2048;
    const h = p.height ?? 2048;
    if (!isInt(w) || !isInt(h) || w < 1 || h < 1)
      return c.when(false, 'width and height must be integers').problems;
    const refs = Array.isArray(p.referenceImages) ? p.referenceImages.length : 0;
    c.when(
      refs + (isInt(p.imgCount) ? p.imgCount : 1) <= 15,
      'reference images + imgCount must not exceed 15',
    );
    if (model === SEEDREAM_45) {
      return c
        .when(
          w * h >= 3_686_400 && w * h <= 16_777_216,
          'width × height must be 3,686,400–16,777,216 for 4.5',
        )
        .when(w / h <= 16 && h / w <= 16, 'width / height must be within 1/16–16 for 4.5').problems;
    }
    return c
      .when(w >= 512 && w <= 4096 && h >= 512 && h <= 4096, 'width and height must be 512–4096 for 4.0')
      .when(w * h >= 1024 * 1024 && w * h <= 4096 * 4096, 'width × height must be 1024²–4096² for 4.0')
      .problems;
  },
  // 002 §8.1 ComfyUI: generateParams holds the workflow's `workflowUuid` (in every example) and
  // its nodes by node id, each `{class_type, inputs}` ("只有inputs中的参数是需要自定义的": only
  // `inputs` is yours to set). Image fields must be reachable URLs (every example's LoadImage
  // `inputs.image` is one, as every other endpoint's table requires).
  '/api/generate/comfyui/app': (p) => {
    const c = check(p).when(
      typeof p.workflowUuid === 'string' && p.workflowUuid !== '',
      'workflowUuid is required',
    );
    // Entries that are not nodes (objects) are the manual's silence: accepted.
    for (const [id, node] of Object.entries(p)) {
      if (id === 'workflowUuid' || !isObject(node)) continue;
      c.when(
        node.class_type === undefined || typeof node.class_type === 'string',
        `${id}.class_type must be a string`,
      );
      if (node.inputs === undefined) continue;
      if (!isObject(node.inputs)) {
        c.when(false, `${id}.inputs must be an object`);
        continue;
      }
      if (node.class_type === 'LoadImage' && node.inputs.image !== undefined) {
        c.when(isUrl(node.inputs.image), `${id}.inputs.image must be a public image URL`);
      }
    }
    return c.problems;
  },
  // 002 §10.1.2: model enum (default kling-v2-1-master), prompt ≤ 2000, 2500 for kling-v2-6,
  // aspectRatio, duration "5"/"10", mode std/pro (pro for kling-v2-5-turbo), sound on/off.
  '/api/generate/video/kling/text2video': (p) =>
    check(p)
      .oneOf('model', [
        'kling-v1-6',
        'kling-v2-master',
        'kling-v2-1-master',
        'kling-v2-5-turbo',
        'kling-v2-6',
      ])
      .promptAtMost(p.model === 'kling-v2-6' ? 2500 : 2000)
      .oneOf('promptMagic', FLAG)
      .oneOf('aspectRatio', KLING_RATIOS)
      .oneOf('duration', KLING_DURATIONS)
      .oneOf('mode', KLING_MODES)
      .oneOf('sound', SOUND)
      .when(p.model !== 'kling-v2-5-turbo' || p.mode === 'pro', 'kling-v2-5-turbo requires mode "pro"')
      .problems,
  // 002 §10.2.2: prompt ≤ 2000 (required); kling-v2-6 takes `image` (table) or `images` (example)
  // and no frames; other models need startFrame or endFrame; an end frame only on kling-v1-6 in pro.
  // The table's model list lacks kling-v2-6, which its own example uses: both are accepted.
  '/api/generate/video/kling/img2video': (p) => {
    const c = check(p)
      .oneOf('model', [
        'kling-v1-6',
        'kling-v2-master',
        'kling-v2-1-master',
        'kling-v2-1',
        'kling-v2-5-turbo',
        'kling-v2-6',
      ])
      .promptAtMost(2000)
      .oneOf('promptMagic', FLAG)
      .oneOf('duration', KLING_DURATIONS)
      .oneOf('mode', KLING_MODES)
      .oneOf('sound', SOUND)
      .url('startFrame')
      .url('endFrame')
      .url('image')
      .urls('images', 1, 1)
      .when(p.model !== 'kling-v2-5-turbo' || p.mode === 'pro', 'kling-v2-5-turbo requires mode "pro"');
    if (p.model === 'kling-v2-6') {
      return c.when(p.image !== undefined || p.images !== undefined, 'kling-v2-6 requires image').problems;
    }
    return c
      .when(p.startFrame !== undefined || p.endFrame !== undefined, 'startFrame or endFrame is required')
      .when(p.endFrame === undefined || p.model === 'kling-v1-6', 'endFrame needs model kling-v1-6')
      .when(p.endFrame === undefined || p.mode === 'pro', 'endFrame requires mode "pro"').problems;
  },
  // 002 §10.3.2: model kling-v1-6 only, prompt ≤ 2000 (required), referenceImages (no maximum
  // given), mode, aspectRatio, duration.
  '/api/generate/video/kling/multiImg2video': (p) =>
    check(p)
      .oneOf('model', ['kling-v1-6'])
      .promptAtMost(2000)
      .oneOf('promptMagic', FLAG)
      .oneOf('mode', KLING_MODES)
      .oneOf('aspectRatio', KLING_RATIOS)
      .oneOf('duration', KLING_DURATIONS)
      .urls('referenceImages', 1, undefined, true).problems,
};
