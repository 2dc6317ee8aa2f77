/**
 * Per-endpoint parameter rules of the LiblibAI mode, each written from 002's parameter table of
 * that endpoint (the section is quoted beside each rule), not from genqueue's client schemas.
 * Where the manual gives no bound, none is checked: the simulator accepts what the client might
 * wrongly refuse. A rule answers the problems it finds; the mode answers them as code 100000.
 */

type Params = Record<string, unknown>;
type Rule = (params: Params) => string[];

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Collects problems for one endpoint. */
class Check {
  readonly problems: string[] = [];
  constructor(private readonly params: Params) {}

  private add(ok: boolean, message: string): this {
    if (!ok) this.problems.push(message);
    return this;
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
  /** An optional list of public URLs, `min`–`max` long (max undefined: the manual gives none). */
  urls(field: string, min: number, max?: number): this {
    const v = this.params[field];
    if (v === undefined) return this;
    const ok =
      Array.isArray(v) &&
      v.length >= min &&
      (max === undefined || v.length <= max) &&
      v.every((u) => typeof u === 'string' && /^https?:\/\//.test(u));
    return this.add(ok, `${field} must hold ${min}${max === undefined ? '+' : `–${max}`} public image URLs`);
  }
  /** An optional public URL. */
  url(field: string): this {
    const v = this.params[field];
    return this.add(
      v === undefined || (typeof v === 'string' && /^https?:\/\//.test(v)),
      `${field} must be a public image URL`,
    );
  }
  /** A prompt of at most `max` characters. */
  promptAtMost(max: number): this {
    const v = this.params.prompt;
    return this.add(typeof v !== 'string' || v.length <= max, `prompt is over ${max} characters`);
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

/** Rules by submission path. Paths without an entry get only the mode's generic checks. */
export const LIBLIB_PARAM_RULES: Readonly<Record<string, Rule>> = {
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
      .when(typeof p.mask === 'string' && /^https?:\/\//.test(p.mask), 'mask is required (a public PNG URL)')
      .url('image').problems,
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
      .when(Array.isArray(p.referenceImages), 'referenceImages is required')
      .urls('referenceImages', 1).problems,
};
