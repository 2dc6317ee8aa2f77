/**
 * LiblibAI template UUIDs, by the manual's sections. A `templateUuid` selects the parameter
 * template a submission endpoint applies (002 §3.3.1, §4.4.1, and each endpoint's table).
 */
export const LIBLIB_TEMPLATES = {
  /** Star-3 Alpha text→image (002 §3.1.1). */
  star3Text2img: '5d7e67009b344550bc1aa6ccbfa1d7f4',
  /** Star-3 Alpha image→image (002 §3.1.2). */
  star3Img2img: '07e00af4fc464c7ab55ff906f8acf1b7',
  /** Custom model, F.1 text→image, full parameters; the checkpoint defaults to the official one (002 §4.4.1). */
  customF1Text2img: '6f7c4652458d4802969f8d089cf5b91f',
  /** Custom model, F.1 image→image, full parameters (002 §4.4.1). */
  customF1Img2img: '63b72710c9574457ba303d9d9b8df8bd',
  /** Custom model, 1.5 / XL text→image, full parameters: LoRA, hires fix, ControlNet (002 §4.4.1). */
  customSdText2img: 'e10adc3949ba59abbe56e057f20f883e',
  /** Custom model, 1.5 / XL image→image and inpaint, full parameters (002 §4.4.1). */
  customSdImg2img: '9c7d531dc75f476aa833b3d452b8f7ad',
  /** ControlNet inpaint, on the text→image endpoint; no hires fix (002 §4.4.1). */
  customControlnetInpaint: 'b689de89e8c9407a874acd415b3aa126',
  /** Image→image inpaint, on the image→image endpoint; no ControlNet (002 §4.4.1). */
  customImg2imgInpaint: '74509e1b072a4c45a7f1843a963c8462',
  /** InstantID face swap, on the text→image endpoint (002 §4.4.1). */
  customInstantId: '7d888009f81d4252a7c458c874cd017f',
  /** F.1 Kontext text→image (002 §5.1.1). */
  kontextText2img: 'fe9928fde1b4491c9b360dd24aa2b115',
  /** F.1 Kontext image→image, instruction edit and multi-reference (002 §5.2.1). */
  kontextImg2img: '1c0a9712b3d84e1b8a9f49514a46d88c',
  /** IMG1 generate (002 §6.1.1). */
  img1Generate: '86c58ea26e9a45bd9f562c6306c17c0f',
  /** IMG1 inpaint (002 §6.2.1). */
  img1Inpaint: '0fb3ddb15a094e74b1241fbda5db3199',
  /** libDream text→image (002 §9.1.1). */
  libDream: 'aa835a39c1a14cfca47c6fc941137c51',
  /** libEdit (002 §9.2.1). */
  libEdit: 'cd3a6751086b4483ba5f0523aef53a79',
  /**
   * libEditV2, as 002 §9.3's request example sends it. The manual disagrees with itself: §9.3.1's
   * table repeats libEdit's UUID (see {@link LIBLIB_TEMPLATES.libEditV2Table}); both are accepted,
   * and this one, specific to V2, is the default.
   */
  libEditV2: 'c92f91c771db42e2b5dbff66e2e4f7a2',
  /** libEditV2 as 002 §9.3.1's table gives it (the same UUID as libEdit's). */
  libEditV2Table: 'cd3a6751086b4483ba5f0523aef53a79',
  /** Seedream 4.0 and 4.5 ("libdream 4.0 / 4.5"), one template, `model` picks the version (002 §9.4, §9.5). */
  seedream: '0b6bad2fd350433ebb5abc7eb91f2ec9',
  /** ComfyUI workflow default template (002 §8.1). */
  comfyui: '4df2efa0f18d46dc9758803e478eb51c',
  /** Kling text→video (002 §10.1.1). */
  klingText2video: '61cd8b60d340404394f2a545eeaf197a',
  /** Kling image→video (002 §10.2.1). */
  klingImg2video: '180f33c6748041b48593030156d2a71d',
  /** Kling multi-image reference → video (002 §10.3.1). */
  klingMultiImg2video: 'ca01e798b4424587b0dfdb98b089da05',
  /** Qwen-Image text→image, on the custom-model text→image endpoint (002 §11.1.1). */
  qwenText2img: 'bf085132c7134622895b783b520b39ff',
} as const;

/** The only Qwen-Image checkpoint the manual lists (002 §11.1.2). */
export const QWEN_IMAGE_CHECKPOINT = '75e0be0c93b34dd8baeec9c968013e0c';
