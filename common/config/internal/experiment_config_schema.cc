// Every key of the experiment config, declared once. Defaults are the struct initialisers in
// experiment_config.h; DefaultConfigYaml() prints them under these docs.
#include "common/config/internal/experiment_config_schema.h"

namespace rein::config::internal {
namespace {

void BindRun(RunConfig* c, Binder* b) {
  b->Field("name", &c->name, "Name of the run; labels metrics and names its folder.").NonEmpty();
  b->Field("output_dir", &c->output_dir,
           "Folder under which the run writes <output_dir>/<name>/ (checkpoints, stats, the "
           "resolved config).")
      .NonEmpty();
  b->Field("seed", &c->seed, "Seed for prompt order, sampling and initialisation.");
  b->Field("iterations", &c->iterations,
           "Iterations (generate, score, train, sync weights) before the run stops.")
      .Positive();
  b->Field("mode", &c->mode,
           "sync: each iteration waits for the previous one's weights. async: generation for "
           "the next iteration overlaps training on this one.");
  b->Field("max_policy_lag", &c->max_policy_lag,
           "Async mode: the most policy versions a sample may lag the learner before it is "
           "dropped (and counted). Ignored in sync mode.")
      .NonNegative();
  b->Field("checkpoint_every", &c->checkpoint_every,
           "Iterations between checkpoints; 0 = only at the end of the run.")
      .NonNegative();
  b->Field("log_level", &c->log_level, "Least severe log line every process writes.");
}

void BindData(DataConfig* c, Binder* b) {
  b->Field("prompts", &c->prompts, "JSONL file of training prompts, one JSON object per line.");
  b->Field("prompt_format", &c->prompt_format,
           "text: the line's 'prompt' string as-is. chat: its 'messages' list through the "
           "tokenizer's chat template. auto: chat when a line has 'messages', else text.");
  b->Field("eval_prompts", &c->eval_prompts,
           "Optional JSONL of held-out prompts, evaluated every eval.every iterations, at each "
           "round's end and at the run's end (RL modes); empty = none.");
  b->Field("max_prompt_tokens", &c->max_prompt_tokens,
           "Longest prompt in tokens; longer prompts are skipped and counted, never truncated.")
      .Positive();
  b->Field("train", &c->train,
           "JSONL of training examples for learner.mode sft ({prompt, response}, {prompt, "
           "completion} or messages ending with the assistant turn), reward-model, dpo, ipo and "
           "kto ({prompt, chosen, rejected}, {prompt, ranked: [best, ..., worst]}, {prompt, "
           "responses, ratings} or {prompt, completion, label}); TRL's conversational and "
           "implicit-prompt forms are accepted as they are.");
  b->Field("train_batch_size", &c->train_batch_size,
           "Examples per iteration in the modes that train on data.train.")
      .Positive();
  b->Field("max_response_tokens", &c->max_response_tokens,
           "Longest response in tokens in data.train; longer examples are skipped and counted.")
      .Positive();
}

void BindModel(ModelConfig* c, Binder* b) {
  b->Field("policy", &c->policy,
           "Hugging Face folder (config.json, *.safetensors) of the initial policy, usually the "
           "SFT model.");
  b->Field("reference", &c->reference,
           "Folder of the frozen reference model for the KL penalty; empty = model.policy.");
  b->Field("reward_model", &c->reward_model,
           "Folder of the reward model (a scalar head); empty = rule-based rewards only.");
  b->Field("cost_model", &c->cost_model,
           "Folder of the cost model (a scalar head trained with learner.mode cost-model on "
           "approve/flag judgements); the reward service then reports each response's cost. "
           "Empty = none.");
  b->Field("tokenizer", &c->tokenizer, "Folder holding tokenizer.json; empty = model.policy.");
  b->Field("dtype", &c->dtype, "Weight dtype; auto = bf16 on CUDA, f32 on CPU.");
  b->Field("device", &c->device, "Where every model runs.");
  b->Field("memory_budget_bytes", &c->memory_budget_bytes,
           "Most bytes one model's weights may take, estimated from its config.json before "
           "any weight is loaded (a folder beyond it is refused); 0 = 3/4 of physical memory.");
  b->Field("sequence_packing", &c->sequence_packing,
           "Pack sequences of different lengths end to end in the learner's RL steps and the "
           "reference's log-probs (no work on padding); false pads to the longest.");
}

void BindSampling(SamplingConfig* c, Binder* b) {
  b->Field("temperature", &c->temperature,
           "Softmax temperature; 0 = greedy, else at least 0.001. Keep 1.0 for PPO so sampling "
           "matches the policy being trained.")
      .Check([](double v) { return v == 0.0 || (v >= 1e-3 && v <= 1e6); },
             "0 (greedy) or a number in [0.001, 1e6]");
  b->Field("top_k", &c->top_k, "Sample among the k most likely tokens; 0 = off.").NonNegative();
  b->Field("top_p", &c->top_p, "Nucleus sampling mass; 1.0 = off.")
      .Check([](double p) { return p > 0.0 && p <= 1.0; }, "a number in (0, 1]");
  b->Field("max_new_tokens", &c->max_new_tokens, "Most tokens generated per response.").Positive();
  b->Field("stop_token_ids", &c->stop_token_ids,
           "Token ids that end a response, besides the tokenizer's EOS.")
      .NonNegative();
}

void BindRollout(RolloutConfig* c, Binder* b) {
  b->Field("replicas", &c->replicas, "rein-rollout processes.").Positive();
  b->Field("capacity", &c->capacity,
           "Most sequences in one Generate call; larger batches are split across calls.")
      .Positive();
  b->Field("batch_size", &c->batch_size, "Prompts taken from the dataset per iteration.")
      .Positive();
  b->Field("samples_per_prompt", &c->samples_per_prompt,
           "Responses sampled per prompt; grpo and rloo compare them, so need at least 2.")
      .Positive();
  BindSampling(&c->sampling, &b->Section("sampling", "How responses are sampled."));
}

void BindReward(RewardConfig* c, Binder* b) {
  b->Field("replicas", &c->replicas, "rein-reward processes.").Positive();
  b->Field("capacity", &c->capacity, "Most sequences in one Score call.").Positive();
  b->Field("model_weight", &c->model_weight,
           "Weight of the reward model's score in the total reward; 0 = rules only.")
      .NonNegative();
  Binder& rules = b->Section("rules", "Rule-based rewards, added to the model's score.");
  Binder& length = rules.Section(
      "length_penalty",
      "Subtracts weight * |response tokens - target_tokens| / target_tokens from the reward.");
  length.Field("weight", &c->rules.length_penalty.weight, "0 = off.").NonNegative();
  length
      .Field("target_tokens", &c->rules.length_penalty.target_tokens,
             "Response length that costs nothing.")
      .Positive();
  Binder& regex = rules.Section("regex", "Adds weight when the response matches pattern.");
  regex.Field("weight", &c->rules.regex.weight, "May be negative to punish a match; 0 = off.");
  regex.Field("pattern", &c->rules.regex.pattern,
              "Regular expression searched anywhere in the decoded response.");
}

void BindReference(ReferenceConfig* c, Binder* b) {
  b->Field("replicas", &c->replicas, "rein-reference processes.").Positive();
  b->Field("capacity", &c->capacity, "Most sequences in one LogProbs call.").Positive();
}

void BindLearner(LearnerConfig* c, Binder* b) {
  b->Field("mode", &c->mode,
           "What the learner trains: sft and reward-model are the supervised stages; ppo uses a "
           "critic; grpo, rloo and reinforce++ are critic-free; dpo, ipo and kto learn the "
           "policy offline from data.train's judgements against the reference model.");
  b->Field("ranks", &c->ranks, "rein-learner processes (data-parallel ranks).").Positive();
  b->Field("backend", &c->backend, "Gradient all-reduce; auto = nccl on CUDA, gloo on CPU.");
  b->Field("learning_rate", &c->learning_rate, "Peak AdamW learning rate of the policy.")
      .Positive();
  b->Field("weight_decay", &c->weight_decay, "AdamW decoupled weight decay.").NonNegative();
  b->Field("adam_beta1", &c->adam_beta1, "AdamW first-moment decay.")
      .Check([](double v) { return v >= 0.0 && v < 1.0; }, "a number in [0, 1)");
  b->Field("adam_beta2", &c->adam_beta2, "AdamW second-moment decay.")
      .Check([](double v) { return v >= 0.0 && v < 1.0; }, "a number in [0, 1)");
  b->Field("warmup_steps", &c->warmup_steps,
           "Optimizer steps over which the learning rate rises linearly from 0.")
      .NonNegative();
  b->Field("schedule", &c->schedule, "Learning-rate decay after warmup.");
  b->Field("max_grad_norm", &c->max_grad_norm, "Global gradient-norm clip; 0 = no clipping.")
      .NonNegative();
  b->Field("micro_batch_size", &c->micro_batch_size,
           "Sequences per forward/backward pass on one rank; bounds activation memory.")
      .Positive();
  b->Field("gradient_accumulation", &c->gradient_accumulation,
           "sft, reward-model, dpo, ipo, kto: micro-batches summed per optimizer step. RL modes "
           "step once per ppo minibatch instead.")
      .Positive();
  b->Field("critic_init", &c->critic_init,
           "ppo: start the critic from the reward model's weights, or from the policy's with a "
           "new value head.");
  b->Field("bucket_mb", &c->bucket_mb, "Gradient all-reduce bucket size in MiB.").Positive();
  b->Field("zero_stage", &c->zero_stage,
           "0: every rank keeps the whole AdamW state. 1 (ZeRO-1): each rank keeps the state of "
           "its share of the parameters (about 1/ranks of it), steps them and broadcasts them; "
           "same updates, checkpoints alike. With ranks 1 it changes nothing.")
      .Check([](int32_t v) { return v == 0 || v == 1; },
             "0 (off) or 1 (optimizer state sharded across learner.ranks)");
  b->Field("gradient_checkpointing", &c->gradient_checkpointing,
           "Keep only each decoder layer's input during the forward pass and recompute the "
           "layer in backward: activation memory of about one layer for about a third more "
           "compute; same gradients.");
  Binder& lora = b->Section(
      "lora",
      "Low-rank adapters (LoRA): the policy trains only small matrices on a frozen base, rollouts "
      "receive only those, and checkpoints keep them in PEFT's files. Llama-family models; "
      "reward-model and cost-model training still train every weight.");
  lora.Field("rank", &c->lora.rank, "Adapter rank r; 0 = off (train every weight).").NonNegative();
  lora.Field("alpha", &c->lora.alpha, "The adapters' output is scaled by alpha / rank.").Positive();
  lora.Field("target_modules", &c->lora.target_modules,
             "Projections to adapt in every layer: q_proj, k_proj, v_proj, o_proj, gate_proj, "
             "up_proj, down_proj.")
      .OneOf({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"});
}

void BindPpo(PpoConfig* c, Binder* b) {
  b->Field("epochs", &c->epochs, "Passes over each iteration's experience.").Positive();
  b->Field("minibatches", &c->minibatches,
           "Minibatches per epoch, one optimizer step each, split evenly across learner ranks.")
      .Positive();
  b->Field("clip_epsilon", &c->clip_epsilon, "Policy ratio clip range: 1 +/- epsilon.").Positive();
  b->Field("dual_clip", &c->dual_clip,
           "Dual-clip bound c on the loss of negative-advantage tokens; 0 = off.")
      .Check([](double v) { return v == 0.0 || v > 1.0; }, "0 (off) or a number above 1");
  b->Field("value_clip", &c->value_clip, "Critic value clip range around old values; 0 = off.")
      .NonNegative();
  b->Field("gamma", &c->gamma, "Discount per token.").Range(0.0, 1.0);
  b->Field("lambda", &c->lambda_, "GAE lambda.").Range(0.0, 1.0);
  b->Field("kl_coef", &c->kl_coef,
           "Weight of the KL penalty to the reference model (the adaptive controller's start).")
      .NonNegative();
  b->Field("kl_estimator", &c->kl_estimator, "Per-token KL estimator.");
  b->Field("kl_controller", &c->kl_controller,
           "fixed keeps kl_coef; adaptive steers it so the observed KL approaches kl_target.");
  b->Field("kl_target", &c->kl_target, "Adaptive controller: target KL per sequence (nats).")
      .Positive();
  b->Field("kl_horizon", &c->kl_horizon, "Adaptive controller: horizon in sequences.").Positive();
  b->Field("kl_in_reward", &c->kl_in_reward,
           "true: the KL penalty is subtracted from per-token rewards; false: it is a loss term.");
  b->Field("entropy_coef", &c->entropy_coef, "Entropy bonus weight; 0 = off.").NonNegative();
  b->Field("whiten_advantages", &c->whiten_advantages,
           "Normalise advantages to zero mean and unit variance per batch.");
  b->Field("reward_clip", &c->reward_clip, "Clip rewards to +/- this value; 0 = off.")
      .NonNegative();
  b->Field("normalize_rewards", &c->normalize_rewards,
           "Scale rewards by running mean and standard deviation.");
  b->Field("early_stop_kl", &c->early_stop_kl,
           "Skip an iteration's remaining epochs once the approximate KL to the sampling policy "
           "exceeds this; 0 = off.")
      .NonNegative();
  b->Field("reuse_behaviour_logprobs", &c->reuse_behaviour_logprobs,
           "Take the rollout's log-probs as the old policy's when they are exact (every sample "
           "from the current policy version, sampled at temperature 1 without top-k/top-p) "
           "instead of recomputing them; their difference is still reported, from the first "
           "minibatch. false always recomputes.");
}

void BindDpo(DpoConfig* c, Binder* b) {
  b->Field("beta", &c->beta,
           "dpo and kto: beta, the inverse strength of the pull to the reference; ipo: tau.")
      .Positive();
  b->Field("label_smoothing", &c->label_smoothing,
           "dpo: the probability that a label is flipped (conservative DPO); 0 = off.")
      .Check([](double v) { return v >= 0.0 && v < 0.5; }, "a number in [0, 0.5)");
  b->Field("desirable_weight", &c->desirable_weight,
           "kto: weight of desirable examples (approved, or the chosen side of a pair).")
      .Positive();
  b->Field("undesirable_weight", &c->undesirable_weight,
           "kto: weight of undesirable examples (flagged, or the rejected side of a pair).")
      .Positive();
}

void BindSafety(SafetyConfig* c, Binder* b) {
  b->Field("mode", &c->mode,
           "RL modes with model.cost_model: off ignores the cost; penalty trains on reward − "
           "cost_coef·cost; constraint keeps the mean cost under cost_limit with a Lagrange "
           "multiplier λ updated every iteration, training on (reward − λ·cost)/(1 + λ) as Safe "
           "RLHF does.");
  b->Field("cost_coef", &c->cost_coef, "penalty: the weight of the cost.").NonNegative();
  b->Field("cost_limit", &c->cost_limit,
           "constraint: the bound on the mean cost per response (the cost model's logit of "
           "\"flagged\": 0 is even odds).");
  b->Field("lambda_init", &c->lambda_init, "constraint: λ before the first update.").Positive();
  b->Field("lambda_lr", &c->lambda_lr, "constraint: step size of the update of log λ.").Positive();
  b->Field("lambda_max", &c->lambda_max, "constraint: cap on λ, at most 1e6; 0 = 1e6.")
      .NonNegative();
}

void BindRounds(RoundsConfig* c, Binder* b) {
  b->Field("count", &c->count,
           "Rounds of feedback -> reward model -> RL; 0 = none (the run is one stage). Each "
           "round samples responses from the current and earlier policies, posts them to "
           "rein-feedback as campaign <run.name>-round-<r>, waits for the judgements, retrains "
           "the reward model, reloads the reward replicas and runs `iterations` RL iterations.")
      .Range(0, 1000);
  b->Field("iterations", &c->iterations,
           "RL iterations per round; run.iterations is count × iterations.")
      .Positive();
  b->Field("prompts", &c->prompts,
           "JSONL prompts whose responses people judge; empty = data.prompts. Round r takes "
           "the next prompts_per_round of them.");
  b->Field("prompts_per_round", &c->prompts_per_round, "Items (response pairs) per round.")
      .Range(1, 1000000);
  b->Field("overlap", &c->overlap, "Judgements per item.").Range(1, 100);
  b->Field("gold_rate", &c->gold_rate,
           "Share of tasks served from the campaign's gold items (whoever adds items with known "
           "answers supplies them).")
      .Check([](double v) { return v >= 0.0 && v < 1.0; }, "a number in [0, 1)");
  b->Field("judgements", &c->judgements,
           "Judgements that end collection; 0 = prompts_per_round × overlap (every item).")
      .NonNegative();
  b->Field("deadline", &c->deadline,
           "Collection ends this long after the round's campaign was created, with what has "
           "arrived by then (a round with no usable preference fails the run).")
      .Positive();
  b->Field("poll_interval", &c->poll_interval,
           "How often the coordinator reads the campaign's progress while collecting.")
      .Positive();
  b->Field("include_synthetic", &c->include_synthetic,
           "Count judgements of synthetic annotators (AI judges, simulated crowds).");
  Binder& rm = b->Section("reward_model", "Each round's reward model (warm-started).");
  rm.Field("data", &c->reward_model.data,
           "all: train on the feedback of every round so far; round: on this round's only.");
  rm.Field("steps", &c->reward_model.steps, "Train calls per round.").Positive();
  rm.Field("batch_size", &c->reward_model.batch_size, "Preferences per Train call.").Positive();
  rm.Field("learning_rate", &c->reward_model.learning_rate, "Constant learning rate.").Positive();
  rm.Field("heldout_fraction", &c->reward_model.heldout_fraction,
           "Share of each round's preferences kept out of training to measure the accuracy of "
           "the reloaded reward model.")
      .Check([](double v) { return v >= 0.0 && v < 1.0; }, "a number in [0, 1)");
  Binder& cm = b->Section("cost_model",
                          "Each round's cost model, from the flags on earlier rounds' red-team "
                          "campaigns (eval.red_team).");
  cm.Field("steps", &c->cost_model.steps,
           "Train calls per round; 0 = never retrained. Warm from model.cost_model, then from "
           "the previous round's.")
      .NonNegative();
  cm.Field("batch_size", &c->cost_model.batch_size, "Approve/flag labels per Train call.")
      .Positive();
  cm.Field("learning_rate", &c->cost_model.learning_rate, "Constant learning rate.").Positive();
}

void BindEval(EvalConfig* c, Binder* b) {
  b->Field("every", &c->every,
           "Iterations between evaluations of data.eval_prompts and the red-team set; 0 = only "
           "at each round's end and at the run's end.")
      .NonNegative();
  b->Field("red_team", &c->red_team,
           "JSONL red-team prompts, each with an optional \"category\" (e.g. violence, bias); "
           "the flagged rate is reported per category. Empty = none.");
  b->Field("max_prompts", &c->max_prompts, "Prompts evaluated per set each time.")
      .Range(1, 100000);
  b->Field("samples", &c->samples,
           "Responses per prompt (2 or more lets a round post them as red-team items).")
      .Range(1, 16);
  b->Field("flag_threshold", &c->flag_threshold,
           "A response whose cost (the cost model's logit of \"flagged\") is above this counts "
           "as flagged.");
  b->Field("campaign", &c->campaign,
           "With rounds and a red-team set: post each round's red-team responses to "
           "rein-feedback as campaign <run.name>-red-team-<r>, for people to approve or flag.");
  b->Field("overlap", &c->overlap, "Judgements per red-team item.").Range(1, 100);
}

void BindServer(ServerConfig* c, Binder* b) {
  b->Field("host", &c->host, "Address every service binds; 0.0.0.0 listens on all interfaces.")
      .NonEmpty();
  b->Field("max_message_bytes", &c->max_message_bytes,
           "Largest gRPC message; bigger tensors travel as a stream of chunks.")
      .Range(1, INT32_MAX);
  b->Field("keepalive_time", &c->keepalive_time, "Idle time before a keepalive ping.").Positive();
  b->Field("keepalive_timeout", &c->keepalive_timeout,
           "Wait for a keepalive ack before the connection is declared dead.")
      .Positive();
  b->Field("drain_timeout", &c->drain_timeout,
           "On shutdown, how long in-flight calls may finish before they are cancelled.")
      .NonNegative();
  b->Field("call_timeout", &c->call_timeout, "Default deadline of calls between services.")
      .Positive();
  Binder& tls = b->Section("tls", "TLS for every service; all paths are PEM files.");
  tls.Field("cert", &c->tls.cert, "Server certificate chain; empty = plaintext.");
  tls.Field("key", &c->tls.key, "Private key of cert.");
  tls.Field("client_ca", &c->tls.client_ca, "CA bundle that verifies client certificates.");
  tls.Field("require_client_cert", &c->tls.require_client_cert,
            "Refuse clients without a certificate signed by client_ca (mutual TLS).");
  b->Field("auth_token_file", &c->auth_token_file,
           "File holding the bearer token calls must carry; empty = no token. Never put the "
           "token itself in this config. The one token grants every role; server.auth gives "
           "each role its own.");
  Binder& auth = b->Section("auth",
                            "Per-role tokens instead of auth_token_file: each a file holding the "
                            "token, or (on servers that must not act as that role) its verifier "
                            "'sha256:<hex>' from `reinctl auth verifier`.");
  auth.Field("worker_token_file", &c->auth.worker_token_file,
             "Token of worker processes: register, KV store, data plane.");
  auth.Field("operator_token_file", &c->auth.operator_token_file,
             "Token of the coordinator and reinctl: everything, incl. pause, set, stop, "
             "checkpoint, reload.");
  auth.Field("monitor_token_file", &c->auth.monitor_token_file,
             "Token of read-only monitoring (run status); empty = none.");
  b->Field("metrics_port", &c->metrics_port,
           "Port of each process's /metrics; 0 = pick a free one and log it.")
      .Range(0, 65535);
}

void BindFeedback(FeedbackConfig* c, Binder* b) {
  b->Field("store", &c->store,
           "Judgement store: sqlite:PATH (one file; relative to the working folder), "
           "sqlite:///ABSOLUTE/PATH, or a postgresql:// URI (several replicas may share it; the "
           "password comes from PGPASSFILE, never from here).")
      .NonEmpty();
  b->Field("http_port", &c->http_port,
           "Port of the annotator page and HTTP/JSON API; 0 = pick a free one and print it.")
      .Range(0, 65535);
  b->Field("http_threads", &c->http_threads,
           "HTTP worker threads; each keep-alive connection holds one while it sends requests.")
      .Range(1, 4096);
  b->Field("public_url", &c->public_url,
           "Base URL of invite links as annotators reach this server (e.g. behind a proxy); "
           "empty = http://<server.host>:<http port>.");
  b->Field("admin_token_file", &c->admin_token_file,
           "File holding the admin token for campaign management (gRPC); empty = "
           "server.auth_token_file.");
  b->Field("lease_duration", &c->lease_duration,
           "How long an annotator holds a task before it goes back to others.")
      .Positive();
  b->Field("max_open_leases", &c->max_open_leases,
           "Most unexpired tasks one annotator may hold at once.")
      .Range(1, 1000);
  b->Field("submissions_per_minute", &c->submissions_per_minute,
           "Per-annotator rate limit on task requests and submissions (per replica); 0 = off.")
      .NonNegative();
  b->Field("max_request_bytes", &c->max_request_bytes,
           "Largest HTTP request body; bigger ones get 413.")
      .Range(1024, INT32_MAX);
  b->Field("session_lifetime", &c->session_lifetime,
           "How long a browser session from an invite link lasts.")
      .Positive();
  b->Field("min_gold_accuracy", &c->min_gold_accuracy,
           "Annotators whose gold accuracy falls below this are paused; their judgements are "
           "kept but left out of exports. 0 = never pause.")
      .Check([](double v) { return v >= 0.0 && v <= 1.0; }, "a number in [0, 1]");
  b->Field("min_gold_judgements", &c->min_gold_judgements,
           "Gold items an annotator must have judged before min_gold_accuracy applies.")
      .Positive();
}

}  // namespace

void BindExperimentConfig(ExperimentConfig* config, Binder* root) {
  BindRun(&config->run, &root->Section("run", "The run as a whole."));
  BindData(&config->data, &root->Section("data", "Prompt datasets."));
  BindModel(&config->model, &root->Section("model", "Model folders, in Hugging Face layout."));
  BindRollout(&config->rollout, &root->Section("rollout", "Generation (rein-rollout)."));
  BindReward(&config->reward, &root->Section("reward", "Scoring (rein-reward)."));
  BindReference(&config->reference,
                &root->Section("reference", "Reference log-probs (rein-reference)."));
  BindLearner(&config->learner, &root->Section("learner", "Training (rein-learner)."));
  BindPpo(&config->ppo, &root->Section("ppo", "PPO and critic-free RL hyperparameters."));
  BindSafety(&config->safety,
             &root->Section("safety", "The cost of flagged responses in RL (model.cost_model)."));
  BindDpo(&config->dpo,
          &root->Section("dpo", "Offline preference learners (learner.mode dpo, ipo, kto)."));
  BindRounds(&config->rounds,
             &root->Section("rounds", "Rounds of human feedback, reward modelling and RL."));
  BindEval(&config->eval,
           &root->Section("eval", "Held-out and red-team evaluation during an RL run."));
  BindServer(&config->server,
             &root->Section("server", "gRPC and metrics settings every service uses."));
  BindFeedback(&config->feedback,
               &root->Section("feedback", "Human feedback collection (rein-feedback)."));
}

}  // namespace rein::config::internal
