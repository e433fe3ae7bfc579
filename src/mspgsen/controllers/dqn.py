"""A small deep Q-network agent (Mnih et al. 2015): Q-network, target network, experience replay
sampled at random, ε-greedy exploration with linear decay. Used by the BALANCE controller; it
knows nothing of GANs, so it can be tested on tasks whose best policy is known.

Everything runs on the CPU with its own random generator, and `state_dict` holds the weights,
the optimiser, the replay memory and the generator, so a resumed run decides exactly alike.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class ReplayMemory:
    """A ring buffer of transitions (state, action, reward, next state, done)."""

    def __init__(self, capacity: int, state_dim: int):
        self.states = torch.zeros(capacity, state_dim)
        self.next_states = torch.zeros(capacity, state_dim)
        self.actions = torch.zeros(capacity, dtype=torch.long)
        self.rewards = torch.zeros(capacity)
        self.dones = torch.zeros(capacity)
        self.size = 0
        self.position = 0

    def push(self, state: torch.Tensor, action: int, reward: float, next_state: torch.Tensor, done: bool) -> None:
        i = self.position
        self.states[i], self.actions[i], self.rewards[i] = state, action, reward
        self.next_states[i], self.dones[i] = next_state, float(done)
        self.position = (i + 1) % len(self.states)
        self.size = min(self.size + 1, len(self.states))

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        index = torch.randint(self.size, (batch_size,), generator=generator)
        return self.states[index], self.actions[index], self.rewards[index], self.next_states[index], self.dones[index]

    def state_dict(self) -> dict[str, Any]:
        return {"states": self.states, "next_states": self.next_states, "actions": self.actions,
                "rewards": self.rewards, "dones": self.dones, "size": self.size, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("states", "next_states", "actions", "rewards", "dones"):
            getattr(self, key).copy_(state[key][:len(self.states)])
        self.size, self.position = min(int(state["size"]), len(self.states)), int(state["position"]) % len(self.states)


class DQNAgent:
    """`config` holds hidden, gamma, lr, batch_size, replay_size, target_sync and the epsilon
    schedule (the balancer passes its `train.balance` settings, controllers/balance.py)."""

    def __init__(self, state_dim: int, num_actions: int, config: Any, seed: int = 0):
        self.config = config
        self.num_actions = num_actions
        self.generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):  # initialise without touching the run's own RNG
            torch.manual_seed(seed)
            self.q = nn.Sequential(nn.Linear(state_dim, config.hidden), nn.ReLU(),
                                   nn.Linear(config.hidden, config.hidden), nn.ReLU(),
                                   nn.Linear(config.hidden, num_actions))
            # Q ≡ 0 until it learns: an untrained agent's greedy choice is then action 0 (the no-op
            # for the balancer), not whatever a random network ranks first, pushed every tick
            nn.init.zeros_(self.q[-1].weight)
            nn.init.zeros_(self.q[-1].bias)
        self.target = copy.deepcopy(self.q).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=config.lr)
        self.memory = ReplayMemory(config.replay_size, state_dim)
        self.decisions = 0
        self.updates = 0

    def epsilon(self) -> float:
        cfg = self.config
        progress = min(1.0, self.decisions / max(cfg.epsilon_decay, 1))
        return cfg.epsilon_start + progress * (cfg.epsilon_end - cfg.epsilon_start)

    def act(self, state: torch.Tensor, explore: bool = True, epsilon: float | None = None) -> int:
        """ε-greedy; `epsilon` overrides the agent's own schedule (a caller that paces it by run progress)."""
        epsilon = self.epsilon() if epsilon is None else epsilon
        self.decisions += explore
        if explore and float(torch.rand((), generator=self.generator)) < epsilon:
            return int(torch.randint(self.num_actions, (), generator=self.generator))
        with torch.no_grad():
            return int(self.q(state.unsqueeze(0)).argmax(dim=1))

    def remember(self, state: torch.Tensor, action: int, reward: float, next_state: torch.Tensor,
                 done: bool = False) -> None:
        self.memory.push(state, action, reward, next_state, done)

    def learn(self) -> float | None:
        """One gradient step on a random replay minibatch; None until the memory holds one."""
        cfg = self.config
        if self.memory.size < cfg.batch_size:
            return None
        states, actions, rewards, next_states, dones = self.memory.sample(cfg.batch_size, self.generator)
        with torch.enable_grad():
            predicted = self.q(states).gather(1, actions.unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                target = rewards + cfg.gamma * (1 - dones) * self.target(next_states).max(dim=1).values
            loss = F.smooth_l1_loss(predicted, target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self.updates += 1
        if self.updates % cfg.target_sync == 0:
            self.target.load_state_dict(self.q.state_dict())
        return float(loss.detach())

    def state_dict(self) -> dict[str, Any]:
        return {"q": self.q.state_dict(), "target": self.target.state_dict(), "optimizer": self.optimizer.state_dict(),
                "memory": self.memory.state_dict(), "generator": self.generator.get_state(),
                "decisions": self.decisions, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any], same_run: bool = True) -> None:
        """`same_run=False` (an agent reused from another run) keeps this run's own random stream."""
        self.q.load_state_dict(state["q"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.memory.load_state_dict(state["memory"])
        self.decisions, self.updates = int(state["decisions"]), int(state["updates"])
        if same_run:
            self.generator.set_state(state["generator"])
