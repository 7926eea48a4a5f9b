export { type RegistryIo, registryMain } from './main.js';
