// Small helpers for writing ONNX graphs by hand with onnx-proto's protobufjs
// classes, so each model file reads as a list of operators.

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { quantizeInt8 } from './int8.js';

// onnx-proto is CommonJS: its only export is the `onnx` namespace object.
const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** Opset 17 / IR 8: understood by every onnxruntime the project may meet. */
const OPSET_VERSION = 17;
const IR_VERSION = 8;

/** fp32 writes plain weights; q8 stores them as int8 and dequantises inside the graph. */
export type Precision = 'fp32' | 'q8';

export type ElementType = 'float32' | 'int64';

/** A graph input or output: a name, an element type and dims (strings are symbolic, e.g. "n"). */
export interface TensorSignature {
  name: string;
  type: ElementType;
  dims: (number | string)[];
}

export type Attribute = { int: number } | { ints: number[] };

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private nextId = 0;

  constructor(readonly precision: Precision) {}

  /** A float32 constant the graph uses as-is (biases, normalisation constants). */
  floatConstant(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: float32LittleEndian(values) });
    return name;
  }

  /** An int64 constant (axes, shapes). */
  int64Constant(name: string, dims: number[], values: number[]): string {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({ name, dims, dataType: DataType.INT64, rawData: bytes });
    return name;
  }

  /**
   * A learned weight tensor. In q8 it is stored as int8 plus a scale and a zero
   * point, and a DequantizeLinear node rebuilds the float tensor at run time:
   * the file really is smaller and the outputs really are slightly different.
   * Returns the name of the float tensor either way.
   */
  weight(name: string, dims: number[], values: Float32Array): string {
    if (this.precision === 'fp32') return this.floatConstant(name, dims, values);
    const { values: quantized, scale } = quantizeInt8(values);
    this.initializers.push(
      { name: `${name}_int8`, dims, dataType: DataType.INT8, rawData: new Uint8Array(quantized.buffer) },
      { name: `${name}_scale`, dims: [], dataType: DataType.FLOAT, rawData: float32LittleEndian([scale]) },
      { name: `${name}_zero_point`, dims: [], dataType: DataType.INT8, rawData: new Uint8Array(1) },
    );
    return this.node('DequantizeLinear', [`${name}_int8`, `${name}_scale`, `${name}_zero_point`], {}, name);
  }

  /** Appends a node (nodes must be added in execution order) and returns its output name. */
  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    const out = output ?? `${opType}_${this.nextId++}`;
    this.nodes.push({
      opType,
      name: `${opType}_node_${this.nodes.length}`,
      input: inputs,
      output: [out],
      attribute: Object.entries(attributes).map(([attrName, value]) => toAttributeProto(attrName, value)),
    });
    return out;
  }

  /** Serialises the graph as a complete ModelProto. */
  toModelBytes(graphName: string, inputs: TensorSignature[], outputs: TensorSignature[]): Uint8Array {
    const model: OnnxTypes.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      producerName: 'picsift-testmodels',
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: inputs.map(toValueInfo),
        output: outputs.map(toValueInfo),
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

function float32LittleEndian(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

function toAttributeProto(name: string, value: Attribute): OnnxTypes.IAttributeProto {
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  return { name, type: AttributeType.INTS, ints: value.ints };
}

function toValueInfo(signature: TensorSignature): OnnxTypes.IValueInfoProto {
  return {
    name: signature.name,
    type: {
      tensorType: {
        elemType: signature.type === 'float32' ? DataType.FLOAT : DataType.INT64,
        shape: { dim: signature.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
