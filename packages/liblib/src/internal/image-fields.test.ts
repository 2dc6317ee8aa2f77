import { describe, expect, it } from 'vitest';
import { LIBLIB_OPERATIONS } from '../operations.ts';
import { mapImageFields } from './image-fields.ts';

const up = async (value: string) => `U(${value})`;

describe('mapImageFields', () => {
  it('replaces ComfyUI LoadImage inputs by node, leaving other values and the input untouched', async () => {
    const params = {
      workflowUuid: '2f22ab7ce4c044afb6d5eee2e61547f3',
      '12': { class_type: 'LoadImage', inputs: { image: 'data:a' } },
      '112': { class_type: 'ImageScale', inputs: { width: 768 } },
      '40': { class_type: 'LoadImage', inputs: { image: 'https://x/y.png' } },
    };
    const seen: string[] = [];
    const out = await mapImageFields(
      params,
      LIBLIB_OPERATIONS['comfyui.run']!.imageFields,
      async (v, path) => {
        seen.push(path);
        return up(v);
      },
    );
    expect(out).toEqual({
      workflowUuid: '2f22ab7ce4c044afb6d5eee2e61547f3',
      '12': { class_type: 'LoadImage', inputs: { image: 'U(data:a)' } },
      '112': { class_type: 'ImageScale', inputs: { width: 768 } },
      '40': { class_type: 'LoadImage', inputs: { image: 'U(https://x/y.png)' } },
    });
    expect(seen.sort()).toEqual(['12.inputs.image', '40.inputs.image']);
    expect(params['12'].inputs.image).toBe('data:a');
  });

  it('walks arrays and nested objects and skips empty strings and absent fields', async () => {
    const out = await mapImageFields(
      { image_list: ['a', 'b'], controlNet: [{ sourceImage: 's', maskImage: '' }], other: 'keep' },
      [
        'image_list[]',
        'controlNet[].sourceImage',
        'controlNet[].maskImage',
        'inpaintParam.maskImage',
        'startFrame',
      ],
      up,
    );
    expect(out).toEqual({
      image_list: ['U(a)', 'U(b)'],
      controlNet: [{ sourceImage: 'U(s)', maskImage: '' }],
      other: 'keep',
    });
  });
});
