// Package optim updates model parameters from their gradients: the SGD,
// Adam and AdamW optimizers, learning-rate schedules and gradient clipping,
// all working on flat float32 slices.
//
// A Param is a named pair of slices, Data and Grad, that alias the model's
// own buffers; the optimizer never copies or reshapes them. Because nothing
// here knows about layers or tensors, the same code serves a single-process
// trainer, which passes every parameter, and a parameter-server shard, which
// passes only the sub-slices it owns: each optimizer allocates its state
// (momentum, first and second moments) for exactly the elements it is given.
//
// # PyTorch equivalence
//
// Each optimizer follows the single-tensor (non-foreach) code path of its
// torch.optim counterpart, with t the step number starting at 1, g the
// gradient and p the parameter:
//
//	SGD (torch.optim.SGD; momentum, dampening, nesterov, weight_decay):
//	    g = g + wd*p
//	    if momentum != 0:
//	        buf = g                                  on the first step (no dampening)
//	        buf = momentum*buf + (1-dampening)*g     afterwards
//	        g = g + momentum*buf if nesterov, else g = buf
//	    p = p - lr*g
//
//	Adam (torch.optim.Adam, amsgrad=False), L2 decay folded into the gradient:
//	    g = g + wd*p
//	    m = beta1*m + (1-beta1)*g
//	    v = beta2*v + (1-beta2)*g*g
//	    p = p - (lr/(1-beta1^t)) * m / (sqrt(v)/sqrt(1-beta2^t) + eps)
//
//	AdamW (torch.optim.AdamW): first p = p*(1 - lr*wd), then the Adam
//	update with no decay in the gradient.
//
// The per-step scalars (bias corrections, lr/(1-beta1^t), 1-lr*wd,
// 1-dampening) are computed in float64 and rounded once to float32, as
// PyTorch computes them in Python floats; the element-wise work is float32.
// SGD's runs in package kernels, vectorised and with fused multiply-adds
// where the CPU has them (SGDConfig.CPU also splits it between threads),
// so its last bits depend on the CPU but not on the thread count.
// Hyper-parameters are float32, so a beta of 0.9 means float32(0.9).
// PyTorch's Adam uses lerp for the first moment; the two forms agree to
// float32 rounding.
//
// Differences from PyTorch, all deliberate: there are no parameter groups
// (Param.NoDecay covers the common split of biases and norm gains out of
// weight decay, and separate optimizers cover the rest); the learning rate
// is passed to every Step, usually from a Schedule, instead of being stored;
// there is one step count per optimizer rather than per tensor, which is the
// same thing when every parameter steps together; amsgrad, maximize and
// foreach/fused variants are not provided.
//
// # Checkpoint state
//
// State returns named copies of the optimizer state: "step" plus, per
// parameter, "<name>.momentum" (SGD with momentum) or "<name>.exp_avg" and
// "<name>.exp_avg_sq" (Adam, AdamW). The step count is stored as two
// float32 values holding its low 24 bits and the bits above, since a single
// float32 is only exact to 2^24 steps. LoadState checks every name, length
// and value before it changes anything.
//
// # Schedules and clipping
//
// A Schedule maps the optimizer step (from 0) to a learning rate: Constant,
// StepDecay (torch.optim.lr_scheduler.StepLR) and WarmupCosine.
// ClipGradNorm is torch.nn.utils.clip_grad_norm_ with the norm accumulated
// in float64; GradSquaredNorm, ClipScale and ScaleGrads are its parts, so
// shards can add their squared norms before scaling.
//
// What it does not do: it does not compute gradients, allocate or own model
// buffers, move data between processes, or know about epochs. Step trusts
// the learning rate it is given and never fails; all input checking happens
// in the constructors and LoadState, which return errors naming the
// parameter, field or tensor at fault.
package optim
